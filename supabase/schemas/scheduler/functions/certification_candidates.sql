-- Function scheduler.certification_candidates, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.certification_candidates(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) RETURNS TABLE(user_id uuid, organisation_id uuid, idempotency_key text, data jsonb, cooldown_days integer, priority integer)
    LANGUAGE sql STABLE
    AS $$
  select f.user_id, f.organisation_id,
         'certification_expiry:' || f.user_id::text || ':' || f.certification_id::text || ':'
           || f.expires_at::text || ':' || f.rung::text,
         jsonb_build_object(
           'certification_id', f.certification_id, 'certification_name', f.certification_name,
           'expires_at', f.expires_at, 'days_left', f.days_left, 'rung', f.rung),
         f.cooldown_days, f.priority
  from scheduler.certification_facts(p_date, p_after, p_last, p_ids) f
  where f.active and f.enabled and f.rung is not null and f.verdict = 'fires'
    -- The window of the widest rung where the scenario is enabled (once per batch): outside it no rung is reached.
    and f.expires_at <= p_date + (select max(x.v::integer)
                                  from scheduler.effective_config('certification_expiry') ec
                                  cross join lateral pg_catalog.jsonb_array_elements_text(ec.params -> 'rungs') x(v)
                                  where ec.enabled)
$$;

COMMENT ON FUNCTION scheduler.certification_candidates(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) IS 'No fixed search_path on purpose: inlined into evaluate_batch (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.certification_candidates(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) FROM PUBLIC;
