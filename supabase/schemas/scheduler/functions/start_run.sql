-- Function scheduler.start_run, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.start_run(p_run_id uuid, p_date date, p_trigger text, p_dry_run boolean, p_request jsonb) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform scheduler.check_date('start_run', p_date);
  perform scheduler.check_range('start_run: trigger length', pg_catalog.length(p_trigger), 1, 200);
  -- The HTTP contract's body limit (64 KiB).
  perform scheduler.check_range('start_run: request size in bytes',
                                pg_catalog.octet_length(coalesce(p_request, '{}'::jsonb)::text), 0, 65536);
  perform scheduler.start_run_unchecked(p_run_id, p_date, p_trigger, p_dry_run, p_request);
end
$$;

REVOKE ALL ON FUNCTION scheduler.start_run(p_run_id uuid, p_date date, p_trigger text, p_dry_run boolean, p_request jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION scheduler.start_run(p_run_id uuid, p_date date, p_trigger text, p_dry_run boolean, p_request jsonb) TO scenario_scheduler;
