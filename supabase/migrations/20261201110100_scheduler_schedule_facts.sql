-- What the cron jobs promise, read from pg_cron's own catalog: which scenarios each scheduler job covers and
-- when it fires on a given local day. The watchdog, the run history and verify all use these functions, so
-- there is one reading of cron.job (no hard-coded "0 6 * * *" anywhere).
--
-- Settings of the operations side (time zone, grace period, retention windows) live in scheduler.ops_settings,
-- one row; change them with an update. Works with and without pg_cron (the functions then report no jobs).
-- Safe to apply twice.

create table if not exists scheduler.ops_settings (
  id                  boolean primary key default true check (id),
  -- The function's SCHEDULER_TIMEZONE: "today" and local times are in this zone.
  time_zone           text not null default 'Europe/Oslo'
                      check ((timestamp '2000-01-01 00:00' at time zone time_zone) is not null),
  -- How long after a job's (last) firing today's evaluation must be complete before the watchdog alerts.
  grace_minutes       integer not null default 90 check (grace_minutes between 0 and 1440),
  -- A queued request without pg_net's answer after this long counts as unanswered (pg_net's timeout for
  -- scheduler.invoke() is 45 s).
  answer_wait_minutes integer not null default 5 check (answer_wait_minutes between 1 and 240),
  -- Runs, their checkpoints, invocations and alerts are kept this long. At least 92 days: a re-run of any
  -- date the HTTP contract accepts (90 days back) still finds that date's checkpoints.
  history_days        integer not null default 180 check (history_days >= 92),
  -- pg_cron's cron.job_run_details (every job of the database, not only the scheduler's) is kept this long.
  cron_details_days   integer not null default 30 check (cron_details_days >= 1),
  -- A run still "running" this long after it started, holding no live lease, is closed as abandoned.
  abandon_after_minutes integer not null default 60 check (abandon_after_minutes >= 5)
);
comment on table scheduler.ops_settings is
  'One row: time zone, watchdog grace period and retention windows (docs/operations.md).';
insert into scheduler.ops_settings default values on conflict do nothing;
revoke all on table scheduler.ops_settings from public;

-- The values one field of a cron expression allows (*, n, a-b, */s, a-b/s and comma lists), or null when the
-- field is anything else (names, L, W, #...).
create or replace function scheduler.cron_field(p_field text, p_lo integer, p_hi integer)
returns integer[]
language plpgsql immutable set search_path = ''
as $$
declare
  v_out   integer[] := '{}';
  v_part  text;
  v_m     text[];
  v_a     integer;
  v_b     integer;
  v_step  integer;
begin
  foreach v_part in array pg_catalog.string_to_array(p_field, ',') loop
    v_m := pg_catalog.regexp_match(v_part, '^(\*|(\d+)(?:-(\d+))?)(?:/(\d+))?$');
    if v_m is null then
      return null;
    end if;
    if v_m[1] = '*' then
      v_a := p_lo; v_b := p_hi;
    else
      v_a := v_m[2]::integer;
      v_b := coalesce(v_m[3]::integer, case when v_m[4] is null then v_a else p_hi end);
    end if;
    v_step := coalesce(v_m[4]::integer, 1);
    if v_a < p_lo or v_b > p_hi or v_a > v_b or v_step < 1 then
      return null;
    end if;
    v_out := v_out || array(select pg_catalog.generate_series(v_a, v_b, v_step));
  end loop;
  return array(select distinct x from pg_catalog.unnest(v_out) x order by x);
end
$$;

-- The scenarios a job's command runs: null when the command does not call scheduler.invoke(); every
-- configured scenario when it names none (array[...] as its first argument limits it).
create or replace function scheduler.job_scenarios(p_command text)
returns text[]
language plpgsql stable set search_path = ''
as $$
declare
  v_list text;
begin
  if p_command !~* 'scheduler\.invoke\s*\(' then
    return null;
  end if;
  v_list := (pg_catalog.regexp_match(p_command, 'scheduler\.invoke\s*\(\s*(?:scenarios\s*=>\s*)?array\s*\[([^\]]*)\]', 'i'))[1];
  if v_list is null then
    return array(select c.scenario from scheduler.scenario_config c where c.organisation_id is null
                 order by c.priority desc, c.scenario);
  end if;
  return array(select m[1] from pg_catalog.regexp_matches(v_list, '''([^'']*)''', 'g') m);
end
$$;

-- Every pg_cron job of this database that calls scheduler.invoke(), with the scenarios it runs and the instants
-- it fires on local day p_day (the time zone of scheduler.ops_settings). fires is null when the schedule is not
-- a daily "minute hour * * *" form the watchdog can read (it is then listed, but has no expected time).
-- No rows where pg_cron is not installed in this database.
create or replace function scheduler.job_schedule(p_day date)
returns table (jobname text, schedule text, active boolean, scenarios text[], fires timestamptz[])
language plpgsql stable set search_path = ''
as $$
declare
  v_tz text := (select s.time_zone from scheduler.ops_settings s);
  r    record;
  v_f  text[];
  v_mi integer[];
  v_hr integer[];
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
        fires := array(
          select t from (
            select (d + pg_catalog.make_interval(hours => h, mins => m)) at time zone 'UTC' as t
            from pg_catalog.unnest(array[p_day - 1, p_day, p_day + 1]) d,
                 pg_catalog.unnest(v_hr) h, pg_catalog.unnest(v_mi) m) x
          where (x.t at time zone v_tz)::date = p_day
          order by t);
      end if;
    end if;
    return next;
  end loop;
end
$$;

-- Per enabled scenario, the active jobs that run it on local day p_day and their first and last firing that
-- day. A scenario with no active job has jobs = '{}' and null times.
create or replace function scheduler.scenario_schedule(p_day date)
returns table (scenario text, jobs text[], first_fire timestamptz, last_fire timestamptz)
language sql stable set search_path = ''
as $$
  select e.scenario,
         coalesce(array_agg(distinct j.jobname) filter (where j.jobname is not null), '{}'),
         min(f.t), max(f.t)
  from scheduler.enabled_scenarios() e
  left join scheduler.job_schedule(p_day) j on j.active and e.scenario = any (j.scenarios)
  left join lateral unnest(j.fires) f(t) on true
  group by e.scenario, e.priority
  order by e.priority desc, e.scenario
$$;

-- The next firing after p_now of every scheduler job (null for a paused job or an unreadable schedule).
create or replace function scheduler.next_runs(p_now timestamptz default now())
returns table (jobname text, schedule text, active boolean, scenarios text[], next_fire timestamptz)
language sql stable set search_path = ''
as $$
  with d as (select (p_now at time zone s.time_zone)::date as today from scheduler.ops_settings s),
  two as (
    select k.jobname, k.schedule, k.active, k.scenarios, f.t
    from d cross join pg_catalog.generate_series(0, 1) g
    cross join lateral scheduler.job_schedule(d.today + g) k
    left join lateral pg_catalog.unnest(k.fires) f(t) on true)
  select jobname, schedule, active, scenarios, min(t) filter (where active and t > p_now)
  from two group by jobname, schedule, active, scenarios order by jobname
$$;

revoke all on function scheduler.cron_field(text, integer, integer) from public;
revoke all on function scheduler.job_scenarios(text) from public;
revoke all on function scheduler.job_schedule(date) from public;
revoke all on function scheduler.scenario_schedule(date) from public;
revoke all on function scheduler.next_runs(timestamptz) from public;
