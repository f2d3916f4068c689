-- Function scheduler.job_schedule, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.job_schedule(p_day date) RETURNS TABLE(jobname text, schedule text, active boolean, scenarios text[], fires timestamp with time zone[])
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
  v_tz text := (select s.time_zone from scheduler.ops_settings s);
  v_since timestamptz := (select s.started_at from scheduler.job_starts s where s.jobname = 'scenario-scheduler-hourly');
  r    record;
  v_f  text[];
  v_mi integer[];
  v_hr integer[];
  v_ticks timestamptz[];
begin
  if pg_catalog.to_regclass('cron.job') is null then
    return;
  end if;
  for r in execute
    'select j.jobname::text as jobname, j.schedule::text as schedule, j.active, j.command::text as command
     from cron.job j where j.database = pg_catalog.current_database() order by j.jobname'
  loop
    scenarios := scheduler.job_scenarios(r.command);
    continue when scenarios is null;
    jobname := r.jobname; schedule := r.schedule; active := r.active; fires := null;
    v_f := pg_catalog.regexp_split_to_array(pg_catalog.btrim(r.schedule), '\s+');
    if pg_catalog.array_length(v_f, 1) = 5 and v_f[3] = '*' and v_f[4] = '*' and v_f[5] = '*' then
      v_mi := scheduler.cron_field(v_f[1], 0, 59);
      v_hr := scheduler.cron_field(v_f[2], 0, 23);
      if v_mi is not null and v_hr is not null then
        -- pg_cron reads schedules in UTC. A local day spans parts of two or three UTC days.
        v_ticks := array(
          select (d + pg_catalog.make_interval(hours => h, mins => m)) at time zone 'UTC' as t
          from pg_catalog.unnest(array[p_day - 2, p_day - 1, p_day, p_day + 1, p_day + 2]) d,
               pg_catalog.unnest(v_hr) h, pg_catalog.unnest(v_mi) m
          order by t);
        if r.command ~* 'scheduler\.invoke_due_slots\s*\(' then
          -- The hourly job runs a slot at its first call at or after the slot's local send hour, and not
          -- before the job existed.
          fires := array(
            select distinct f.t from (
              select (select pg_catalog.min(k) from pg_catalog.unnest(v_ticks) k where k >= x.at) as t
              from (select case when v_since is null or y.send_at >= v_since then y.send_at
                                -- created after the send hour of the local date it was created on:
                                -- its first call; an earlier local date is never run by it.
                                when (v_since at time zone y.time_zone)::date = y.d then v_since end as at
                    from (select z.time_zone, d::date as d,
                                 (d + pg_catalog.make_interval(hours => z.send_hour)) at time zone z.time_zone as send_at
                          from (select distinct o.time_zone, o.send_hour from scheduler.organisation_slots() o) z
                          cross join pg_catalog.unnest(array[p_day - 1, p_day, p_day + 1]) d
                          where scheduler.zone_known(z.time_zone)) y) x) f
            where f.t is not null and (f.t at time zone v_tz)::date = p_day
            order by f.t);
        else
          fires := array(select t from pg_catalog.unnest(v_ticks) t where (t at time zone v_tz)::date = p_day order by t);
        end if;
      end if;
    end if;
    return next;
  end loop;
end
$$;

REVOKE ALL ON FUNCTION scheduler.job_schedule(p_day date) FROM PUBLIC;
