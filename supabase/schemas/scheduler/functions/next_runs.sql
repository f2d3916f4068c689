-- Function scheduler.next_runs, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.next_runs(p_now timestamp with time zone DEFAULT now()) RETURNS TABLE(jobname text, schedule text, active boolean, scenarios text[], next_fire timestamp with time zone)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  with d as (select (p_now at time zone s.time_zone)::date as today from scheduler.ops_settings s),
  two as (
    select k.jobname, k.schedule, k.active, k.scenarios, f.t
    from d cross join pg_catalog.generate_series(0, 1) g
    cross join lateral scheduler.job_schedule(d.today + g) k
    left join lateral pg_catalog.unnest(k.fires) f(t) on true)
  select jobname, schedule, active, scenarios, min(t) filter (where active and t > p_now)
  from two group by jobname, schedule, active, scenarios order by jobname
$$;

REVOKE ALL ON FUNCTION scheduler.next_runs(p_now timestamp with time zone) FROM PUBLIC;
