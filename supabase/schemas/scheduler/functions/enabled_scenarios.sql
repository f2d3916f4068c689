-- Function scheduler.enabled_scenarios, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.enabled_scenarios() RETURNS TABLE(scenario text, priority integer)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select d.scenario, d.priority
  from scheduler.scenario_config d
  where d.organisation_id is null
    and exists (select 1 from scheduler.scenario_config x where x.scenario = d.scenario
                and coalesce(x.enabled, d.enabled))
  order by d.priority desc, d.scenario
$$;

REVOKE ALL ON FUNCTION scheduler.enabled_scenarios() FROM PUBLIC;
GRANT ALL ON FUNCTION scheduler.enabled_scenarios() TO scenario_scheduler;
