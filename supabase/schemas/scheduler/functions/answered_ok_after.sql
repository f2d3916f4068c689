-- Function scheduler.answered_ok_after, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.answered_ok_after(p_since timestamp with time zone) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $_$
declare
  v boolean;
begin
  execute $q$select exists (select 1 from scheduler.invocations i
              join net._http_response r on r.id = i.request_id and r.created between i.queued_at - interval '1 minute' and i.queued_at + interval '6 hours'
              where i.queued_at > $1 and r.status_code between 200 and 299)$q$ into v using p_since;
  return v;
end
$_$;

REVOKE ALL ON FUNCTION scheduler.answered_ok_after(p_since timestamp with time zone) FROM PUBLIC;
