-- Function scheduler.start_run_unchecked, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.start_run_unchecked(p_run_id uuid, p_date date, p_trigger text, p_dry_run boolean, p_request jsonb) RETURNS void
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
  insert into scheduler.runs (id, evaluation_date, trigger, dry_run, request)
  values (p_run_id, p_date, p_trigger, p_dry_run, coalesce(p_request, '{}'::jsonb))
$$;

REVOKE ALL ON FUNCTION scheduler.start_run_unchecked(p_run_id uuid, p_date date, p_trigger text, p_dry_run boolean, p_request jsonb) FROM PUBLIC;
