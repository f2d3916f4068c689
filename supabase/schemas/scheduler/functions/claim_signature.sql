-- Function scheduler.claim_signature, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.claim_signature(p_signature text, p_expires_at timestamp with time zone) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
declare
  v_now timestamptz := pg_catalog.clock_timestamp();
begin
  if p_signature is null or p_signature !~ '^v2=[0-9a-f]{64}$' then
    raise exception 'claim_signature: the signature must be v2= and 64 lowercase hex digits' using errcode = '22023';
  end if;
  if p_expires_at is null or p_expires_at <= v_now or p_expires_at > v_now + interval '600 seconds' then
    raise exception 'claim_signature: the signature''s expiry is outside the 300 s window' using errcode = '22023';
  end if;
  delete from scheduler.used_signatures where expires_at < v_now;
  insert into scheduler.used_signatures (signature_sha256, expires_at)
  values (pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(p_signature, 'UTF8')), 'hex'), p_expires_at)
  on conflict (signature_sha256) do nothing;
  return found;
end
$_$;

COMMENT ON FUNCTION scheduler.claim_signature(p_signature text, p_expires_at timestamp with time zone) IS 'Records a signed call''s signature until it expires; false when it was already used (a replay).';

REVOKE ALL ON FUNCTION scheduler.claim_signature(p_signature text, p_expires_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION scheduler.claim_signature(p_signature text, p_expires_at timestamp with time zone) TO scenario_scheduler;
