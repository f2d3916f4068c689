-- Function scheduler.finish_run, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.finish_run(p_run_id uuid, p_status text, p_duration_ms integer, p_report jsonb) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform scheduler.check_range('finish_run: status length', pg_catalog.length(p_status), 1, 32);
  perform scheduler.check_range('finish_run: duration_ms', p_duration_ms, 0, 86400000);
  -- A report lists scenarios and counts: a few KiB. 256 KiB leaves room and bounds what the role can store.
  perform scheduler.check_range('finish_run: report size in bytes',
                                pg_catalog.octet_length(coalesce(p_report, 'null'::jsonb)::text), 0, 262144);
  perform scheduler.finish_run_unchecked(p_run_id, p_status, p_duration_ms, p_report);
end
$$;

REVOKE ALL ON FUNCTION scheduler.finish_run(p_run_id uuid, p_status text, p_duration_ms integer, p_report jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION scheduler.finish_run(p_run_id uuid, p_status text, p_duration_ms integer, p_report jsonb) TO scenario_scheduler;
