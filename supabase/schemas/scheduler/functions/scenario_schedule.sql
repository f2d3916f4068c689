-- Function scheduler.scenario_schedule, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.scenario_schedule(p_day date) RETURNS TABLE(scenario text, jobs text[], first_fire timestamp with time zone, last_fire timestamp with time zone)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select e.scenario,
         coalesce(array_agg(distinct j.jobname) filter (where j.jobname is not null), '{}'),
         min(f.t), max(f.t)
  from scheduler.enabled_scenarios() e
  left join scheduler.job_schedule(p_day) j on j.active and e.scenario = any (j.scenarios)
  left join lateral unnest(j.fires) f(t) on true
  group by e.scenario, e.priority
  order by e.priority desc, e.scenario
$$;

REVOKE ALL ON FUNCTION scheduler.scenario_schedule(p_day date) FROM PUBLIC;
