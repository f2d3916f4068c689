-- Function scheduler.record_scenario_stats, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.record_scenario_stats(p_scenario text, p_evaluated integer, p_duration_ms integer) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform scheduler.check_scenario('record_scenario_stats', p_scenario);
  perform scheduler.check_range('record_scenario_stats: evaluated', p_evaluated, 0, 2147483647);
  perform scheduler.check_range('record_scenario_stats: duration_ms', p_duration_ms, 0, 86400000);
  perform scheduler.record_scenario_stats_unchecked(p_scenario, p_evaluated, p_duration_ms);
end
$$;

REVOKE ALL ON FUNCTION scheduler.record_scenario_stats(p_scenario text, p_evaluated integer, p_duration_ms integer) FROM PUBLIC;
GRANT ALL ON FUNCTION scheduler.record_scenario_stats(p_scenario text, p_evaluated integer, p_duration_ms integer) TO scenario_scheduler;
