-- Each organisation's local time, schedules (see 20261201160000_local_time_slots.sql for slots):
--
-- * scheduler.due_slots(now): the slots whose local send hour has come on their local date and whose
--   evaluation of that date is not complete; scheduler.next_local_runs(now): each organisation's next local
--   run (task status and task verify show it).
-- * scheduler.invoke_due_slots(job, shards) queues one signed request per due slot (times shards) through
--   scheduler.invoke; scheduler.schedule_hourly() makes it the one scheduler job. scheduler.schedule_daily()
--   remains: one job for the whole project at one UTC time. Use one or the other: each removes the other's
--   job (a daily run would evaluate every organisation at one UTC hour, and its date would then count as
--   done for every slot). scheduler.schedule_catch_up() is for the daily job: the hourly job catches up by
--   itself, so it refuses to add one beside it.
-- * scheduler.job_scenarios and scheduler.job_schedule read the hourly job: it covers every scenario, and on
--   a local day it is expected to fire at each slot's first call at or after its send hour (what the
--   watchdog and verify compare with), not at each of its calls. scheduler.job_starts records when
--   schedule_hourly created the hourly job: on the day of a switch a slot whose send hour had already passed
--   is expected at the job's first call after it (scheduler.hourly_first_call), never before the job existed
--   (the watchdog's scheduler.missing_slots, 20261201160500_local_time_watchdog.sql, reads it too).
-- Safe to apply twice.

-- The slots due at p_now: those whose organisations' local time has reached the send hour on their local
-- date, and whose evaluation of that date is not complete (scheduler.slot_done: a slot run or a whole-project
-- run). Hence, with a job that asks every hour:
-- * each slot runs once per local date, at the first call at or after its local send hour; a failed or
--   partial run is due again at the next call of the same local date;
-- * a send hour that does not exist on a spring-forward day (02:00 in Oslo on the last Sunday of March) is
--   due at the first call after the jump; on a fall-back day the repeated hour finds the date complete.
-- Organisations whose time zone PostgreSQL does not know are skipped (scheduler.next_local_runs names them).
create or replace function scheduler.due_slots(p_now timestamptz default pg_catalog.now())
returns table (slot text, time_zone text, send_hour integer, local_date date, organisations integer)
language plpgsql stable set search_path = ''
as $$
declare
  r       record;
  v_local timestamp;
begin
  if p_now is null then
    raise exception 'due_slots: the time must not be null' using errcode = '22023';
  end if;
  for r in
    select s.slot as s_slot, s.time_zone as s_zone, s.send_hour as s_hour, pg_catalog.count(*)::integer as n
    from scheduler.organisation_slots() s
    group by s.slot, s.time_zone, s.send_hour
    order by s.slot
  loop
    continue when not scheduler.zone_known(r.s_zone);
    v_local := p_now at time zone r.s_zone;
    continue when v_local::time < pg_catalog.make_time(r.s_hour, 0, 0);
    continue when scheduler.slot_done(v_local::date, r.s_slot);
    slot := r.s_slot;
    time_zone := r.s_zone;
    send_hour := r.s_hour;
    local_date := v_local::date;
    organisations := r.n;
    return next;
  end loop;
end
$$;
comment on function scheduler.due_slots(timestamptz) is
  'The slots ("<zone>@<HH>") whose local send hour has come on their local date and whose evaluation of that date is not complete.';
revoke all on function scheduler.due_slots(timestamptz) from public;

-- Each organisation's next local run after p_now: its time zone, send hour, slot, the local date it will
-- evaluate, and when (local and UTC). state: 'scheduled' (today's or tomorrow's send hour is ahead), 'due'
-- (the send hour has passed and today's evaluation is not complete: the next call of the hourly job runs
-- it), or 'unknown time zone' (never run by the hourly job; fix the organisation's timezone).
create or replace function scheduler.next_local_runs(p_now timestamptz default pg_catalog.now())
returns table (organisation_id uuid, organisation text, time_zone text, send_hour integer, slot text,
               local_date date, next_run_local timestamp, next_run_utc timestamptz, state text)
language sql stable set search_path = ''
as $$
  with orgs as (select * from scheduler.organisation_slots()),
  zones as materialized (
    select z.time_zone, scheduler.zone_known(z.time_zone) as known
    from (select distinct o.time_zone from orgs o) z
  ),
  slots as materialized (
    select s.slot, s.time_zone, s.send_hour, l.local_now,
           ((l.local_now::date + pg_catalog.make_interval(hours => s.send_hour)) at time zone s.time_zone) as today_at,
           scheduler.slot_done(l.local_now::date, s.slot) as today_done
    from (select distinct o.slot, o.time_zone, o.send_hour from orgs o) s
    join zones z on z.time_zone = s.time_zone and z.known
    cross join lateral (select p_now at time zone s.time_zone as local_now) l
  ),
  nxt as (
    select s.slot,
           case when s.today_at > p_now or not s.today_done then s.local_now::date
                else s.local_now::date + 1 end as local_date,
           case when s.today_at > p_now then s.today_at
                when not s.today_done then p_now
                else ((s.local_now::date + 1 + pg_catalog.make_interval(hours => s.send_hour)) at time zone s.time_zone)
           end as at_utc,
           case when s.today_at <= p_now and not s.today_done then 'due' else 'scheduled' end as state
    from slots s
  )
  select o.organisation_id, o.organisation, o.time_zone, o.send_hour, o.slot, n.local_date,
         n.at_utc at time zone o.time_zone, n.at_utc, coalesce(n.state, 'unknown time zone')
  from orgs o
  left join nxt n on n.slot = o.slot
  order by n.at_utc nulls first, o.organisation, o.organisation_id
$$;
comment on function scheduler.next_local_runs(timestamptz) is
  'Each organisation''s next local run: time zone, send hour, slot, local date, local and UTC time, and state (scheduled, due, unknown time zone).';
revoke all on function scheduler.next_local_runs(timestamptz) from public;

-- Queues one signed request per due slot (p_shards requests per slot: shards 1/N to N/N), each naming its
-- slot and local date, through scheduler.invoke and all its guards; returns how many were queued. A project
-- whose source has no organisation at all gets one request for the default slot (Europe/Oslo at the default
-- send hour), so that its run fails loudly on the source contract instead of nothing ever running.
create or replace function scheduler.invoke_due_slots(
  p_job text default 'scenario-scheduler-hourly', p_shards integer default 1, p_now timestamptz default pg_catalog.now())
returns integer
language plpgsql volatile set search_path = ''
as $$
declare
  r       record;
  n       integer := 0;
  v_local timestamp;
  v_hour  integer;
begin
  if p_shards is null or p_shards < 1 or p_shards > 64 then
    raise exception 'invoke_due_slots: shards must be between 1 and 64, got %', coalesce(p_shards::text, 'null')
      using errcode = '22023';
  end if;
  if not exists (select 1 from scheduler.organisation_slots()) then
    v_hour := coalesce((select c.send_hour from scheduler.delivery_config c where c.organisation_id is null), 8);
    v_local := p_now at time zone 'Europe/Oslo';
    if v_local::time >= pg_catalog.make_time(v_hour, 0, 0)
       and not scheduler.slot_done(v_local::date, 'Europe/Oslo@' || pg_catalog.lpad(v_hour::text, 2, '0')) then
      perform scheduler.invoke(null, p_job, false, p_shards, 'Europe/Oslo@' || pg_catalog.lpad(v_hour::text, 2, '0'),
                               v_local::date);
      n := p_shards;
    end if;
    return n;
  end if;
  for r in select * from scheduler.due_slots(p_now) d order by d.slot loop
    perform scheduler.invoke(null, p_job, false, p_shards, r.slot, r.local_date);
    n := n + p_shards;
  end loop;
  return n;
end
$$;
comment on function scheduler.invoke_due_slots(text, integer, timestamptz) is
  'Queues one signed request per due slot (scheduler.due_slots), p_shards per slot; returns how many were queued.';
revoke all on function scheduler.invoke_due_slots(text, integer, timestamptz) from public;

-- When each scheduler job was last created (rescheduling an existing job does not change it). Written by
-- scheduler.schedule_hourly; read by the watchdog's expectations on the day of a switch.
create table if not exists scheduler.job_starts (
  jobname    text primary key,
  started_at timestamptz not null default pg_catalog.now()
);
comment on table scheduler.job_starts is
  'When each scheduler cron job was created (scheduler.schedule_hourly records the hourly job): the watchdog expects no run before it.';
revoke all on table scheduler.job_starts from public;

-- The hourly job's first call at or after p_at, from its schedule ("minute hour * * *", UTC). Null where
-- pg_cron is not in this database, there is no hourly job, or its schedule is not of that form.
create or replace function scheduler.hourly_first_call(p_at timestamptz)
returns timestamptz
language plpgsql stable set search_path = ''
as $$
declare
  v_schedule text;
  v_f        text[];
  v_mi       integer[];
  v_hr       integer[];
begin
  if p_at is null or pg_catalog.to_regclass('cron.job') is null then
    return null;
  end if;
  execute 'select j.schedule::text from cron.job j where j.jobname = $1 and j.database = pg_catalog.current_database()'
    into v_schedule using 'scenario-scheduler-hourly';
  v_f := pg_catalog.regexp_split_to_array(pg_catalog.btrim(coalesce(v_schedule, '')), '\s+');
  if pg_catalog.array_length(v_f, 1) is distinct from 5 or v_f[3] <> '*' or v_f[4] <> '*' or v_f[5] <> '*' then
    return null;
  end if;
  v_mi := scheduler.cron_field(v_f[1], 0, 59);
  v_hr := scheduler.cron_field(v_f[2], 0, 23);
  if v_mi is null or v_hr is null then
    return null;
  end if;
  return (select pg_catalog.min(x.t) from (
            select (d + pg_catalog.make_interval(hours => h, mins => m)) at time zone 'UTC' as t
            from pg_catalog.unnest(array[(p_at at time zone 'UTC')::date, (p_at at time zone 'UTC')::date + 1]) d,
                 pg_catalog.unnest(v_hr) h, pg_catalog.unnest(v_mi) m) x
          where x.t >= p_at);
end
$$;
comment on function scheduler.hourly_first_call(timestamptz) is
  'The hourly job''s first call at or after the given time, read from its schedule; null when it cannot be read.';
revoke all on function scheduler.hourly_first_call(timestamptz) from public;

-- The hourly job: scenario-scheduler-hourly calls scheduler.invoke_due_slots on p_schedule (UTC; default five
-- past every hour), in p_shards shards per slot. It replaces every other scheduler job (the daily, split and
-- catch-up jobs). A slot is run at the first call at or after its local send hour; while its evaluation is
-- partial or failed, every later call of the same local date resumes it. A schedule of '*/10 * * * *' runs
-- slots within ten minutes of their hour (and in half-hour zones at the hour), and resumes a partial run
-- every ten minutes; calls with no due slot queue nothing.
create or replace function scheduler.schedule_hourly(p_schedule text default '5 * * * *', p_shards integer default 1)
returns table (jobname text, schedule text, command text, active boolean)
language plpgsql volatile set search_path = ''
as $$
declare
  v_command text;
  v_new     boolean;
begin
  if p_shards is null or p_shards < 1 or p_shards > 64 then
    raise exception 'schedule_hourly: shards must be between 1 and 64, got %', coalesce(p_shards::text, 'null')
      using errcode = '22023';
  end if;
  perform scheduler.require_cron();
  v_command := pg_catalog.format('select scheduler.invoke_due_slots(%L, %s)', 'scenario-scheduler-hourly', p_shards);
  v_new := not exists (select 1 from scheduler.cron_jobs() j where j.jobname = 'scenario-scheduler-hourly');
  perform scheduler.unschedule_jobs(array(
    select j.jobname from scheduler.cron_jobs() j where j.jobname <> 'scenario-scheduler-hourly'));
  execute 'select cron.schedule($1, $2, $3)' using 'scenario-scheduler-hourly', p_schedule, v_command;
  if v_new then
    insert into scheduler.job_starts as s (jobname, started_at) values ('scenario-scheduler-hourly', pg_catalog.now())
    on conflict on constraint job_starts_pkey do update set started_at = excluded.started_at;
  end if;
  return query select * from scheduler.cron_jobs();
end
$$;
revoke all on function scheduler.schedule_hourly(text, integer) from public;

-- schedule_catch_up (20261201140000_sharded_fanout.sql) refuses beside the hourly job, which catches up by
-- itself: a catch-up call evaluates the whole project for the engine's date at a UTC time. [local time]
create or replace function scheduler.schedule_catch_up(p_schedule text default '10-50/10 6-9 * * *', p_shards integer default 1)
returns table (jobname text, schedule text, command text, active boolean)
language plpgsql volatile set search_path = ''
as $$
declare
  v_command text := scheduler.invoke_command('scenario-scheduler-catch-up', p_shards);
begin
  perform scheduler.require_cron();
  if exists (select 1 from scheduler.cron_jobs() j where j.jobname = 'scenario-scheduler-hourly') then  -- [local time]
    raise exception 'schedule_catch_up: the hourly job (scenario-scheduler-hourly) resumes partial runs by itself'
      using errcode = '22023',
            hint = 'Give it a more frequent schedule instead: select * from scheduler.schedule_hourly(''*/10 * * * *'');';
  end if;
  execute 'select cron.schedule($1, $2, $3)' using 'scenario-scheduler-catch-up', p_schedule, v_command;
  return query select * from scheduler.cron_jobs();
end
$$;
revoke all on function scheduler.schedule_catch_up(text, integer) from public;

-- The jobs' scenarios and firings (20261201110100_scheduler_schedule_facts.sql) with the hourly job, marked
-- "[local time]".
create or replace function scheduler.job_scenarios(p_command text)
returns text[]
language plpgsql stable set search_path = ''
as $$
declare
  v_list text;
begin
  if p_command !~* 'scheduler\.invoke(_due_slots)?\s*\(' then  -- [local time] or the hourly job's
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
revoke all on function scheduler.job_schedule(date) from public;

