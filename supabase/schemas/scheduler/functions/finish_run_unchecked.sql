-- Function scheduler.finish_run_unchecked, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.finish_run_unchecked(p_run_id uuid, p_status text, p_duration_ms integer, p_report jsonb) RETURNS void
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
  update scheduler.runs
  set status = p_status, finished_at = now(), duration_ms = p_duration_ms, report = p_report
  where id = p_run_id
$$;

REVOKE ALL ON FUNCTION scheduler.finish_run_unchecked(p_run_id uuid, p_status text, p_duration_ms integer, p_report jsonb) FROM PUBLIC;
