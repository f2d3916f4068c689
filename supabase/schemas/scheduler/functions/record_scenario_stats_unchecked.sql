-- Function scheduler.record_scenario_stats_unchecked, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.record_scenario_stats_unchecked(p_scenario text, p_evaluated integer, p_duration_ms integer) RETURNS void
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
  update scheduler.scenario_config
  set last_evaluated_count = p_evaluated, last_duration_ms = p_duration_ms, last_evaluated_at = now()
  where scenario = p_scenario and organisation_id is null
$$;

REVOKE ALL ON FUNCTION scheduler.record_scenario_stats_unchecked(p_scenario text, p_evaluated integer, p_duration_ms integer) FROM PUBLIC;
