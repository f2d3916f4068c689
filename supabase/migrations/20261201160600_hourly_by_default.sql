-- The hourly job by default: every organisation is evaluated at its own send hour in its own time zone
-- (20261201160300_local_time_schedules.sql), not the whole project at 06:00 UTC.
--
-- * Where pg_cron runs in this database and the scheduler's jobs are exactly what the migrations left (only
--   scenario-scheduler-daily, '0 6 * * *', its default command, active: a fresh project, or a deployed one
--   whose operator never changed the schedule), the daily job is replaced by the hourly job
--   (scheduler.schedule_hourly()). Any other schedule is an operator's choice (another time, a split,
--   a catch-up job, shards, the hourly job already, a paused or removed job): it is left as it is, and a
--   NOTICE says so and how to switch. So is a default daily job that belongs to another role (pg_cron runs a
--   job as its owner: the owner switches). scheduler.schedule_daily() switches back.
-- * scheduler.job_starts records when the hourly job was created. On the day of a switch, the watchdog
--   (scheduler.job_schedule, scheduler.missing_slots) expects a slot whose send hour had already passed at
--   the first call of the hourly job after the switch, not at a send hour when no hourly job existed: no
--   run_missing for a slot the next call is about to run. The daily job, once removed, is expected by nobody.
-- Works with and without pg_cron, pg_net and Vault (without pg_cron in this database nothing is scheduled).
-- Safe to apply twice: the second application finds the hourly job and leaves it as it is.

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

-- scheduler.schedule_hourly (20261201160300_local_time_schedules.sql), recording in scheduler.job_starts when
-- the hourly job is created. [hourly by default]
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
  v_new := not exists (select 1 from scheduler.cron_jobs() j where j.jobname = 'scenario-scheduler-hourly');  -- [hourly by default]
  perform scheduler.unschedule_jobs(array(
    select j.jobname from scheduler.cron_jobs() j where j.jobname <> 'scenario-scheduler-hourly'));
  execute 'select cron.schedule($1, $2, $3)' using 'scenario-scheduler-hourly', p_schedule, v_command;
  if v_new then  -- [hourly by default]
    insert into scheduler.job_starts as s (jobname, started_at) values ('scenario-scheduler-hourly', pg_catalog.now())
    on conflict on constraint job_starts_pkey do update set started_at = excluded.started_at;
  end if;
  return query select * from scheduler.cron_jobs();
end
$$;
revoke all on function scheduler.schedule_hourly(text, integer) from public;

-- scheduler.job_schedule (20261201160300_local_time_schedules.sql): the hourly job runs a slot at its first
-- call at or after the slot's send hour and, on the day it was created, at or after its creation, marked
-- "[hourly by default]".
create or replace function scheduler.job_schedule(p_day date)
returns table (jobname text, schedule text, active boolean, scenarios text[], fires timestamptz[])
language plpgsql stable set search_path = ''
as $$
declare
  v_tz text := (select s.time_zone from scheduler.ops_settings s);
  v_since timestamptz := (select s.started_at from scheduler.job_starts s where s.jobname = 'scenario-scheduler-hourly');  -- [hourly by default]
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
          -- before the job existed. [hourly by default]
          fires := array(
            select distinct f.t from (
              select (select pg_catalog.min(k) from pg_catalog.unnest(v_ticks) k where k >= x.at) as t
              from (select case when v_since is null or y.send_at >= v_since then y.send_at
                                -- [hourly by default] created after the send hour of the local date it was created on:
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

-- scheduler.missing_slots (20261201160500_local_time_watchdog.sql): a slot whose send hour passed before the
-- hourly job existed is expected at the job's first call after it was created. [hourly by default]
create or replace function scheduler.missing_slots(p_now timestamptz default pg_catalog.now())
returns table (slot text, local_date date, organisations text)
language plpgsql stable set search_path = ''
as $$
declare
  s       scheduler.ops_settings;
  r       record;
  v_local date;
  v_due   timestamptz;
  v_since timestamptz := (select j.started_at from scheduler.job_starts j where j.jobname = 'scenario-scheduler-hourly');  -- [hourly by default]
begin
  select * into s from scheduler.ops_settings;
  if not exists (select 1 from scheduler.job_schedule((p_now at time zone s.time_zone)::date) j
                 where j.active and j.jobname = 'scenario-scheduler-hourly') then
    return;
  end if;
  for r in
    select o.slot as s_slot, o.time_zone as s_zone, o.send_hour as s_hour,
           pg_catalog.string_agg(coalesce(o.organisation, o.organisation_id::text), ', ' order by o.organisation) as names
    from scheduler.organisation_slots() o
    group by o.slot, o.time_zone, o.send_hour
    order by o.slot
  loop
    continue when not scheduler.zone_known(r.s_zone);
    v_local := (p_now at time zone r.s_zone)::date;
    v_due := (v_local + pg_catalog.make_interval(hours => r.s_hour)) at time zone r.s_zone;
    if v_since > v_due then  -- [hourly by default]
      v_due := coalesce(scheduler.hourly_first_call(v_since), v_since + interval '1 hour');
    end if;
    continue when p_now < v_due + pg_catalog.make_interval(mins => s.grace_minutes);
    continue when exists (select 1 from scheduler.checkpoints c
                          where c.evaluation_date = v_local and c.slot in ('', r.s_slot));
    slot := r.s_slot;
    local_date := v_local;
    organisations := r.names;
    return next;
  end loop;
end
$$;
comment on function scheduler.missing_slots(timestamptz) is
  'With the hourly job: the slots whose local date''s evaluation has not started by their send hour (or the hourly job''s first call, on the day it was created) plus the grace period.';
revoke all on function scheduler.missing_slots(timestamptz) from public;

-- The switch, where pg_cron runs in this database.
do $$
declare
  v_default constant text :=
    'scenario-scheduler-daily | 0 6 * * * | select scheduler.invoke(null, ''scenario-scheduler-daily'') | true';
  v_jobs  text[];
  v_owner text;
begin
  if pg_catalog.to_regnamespace('cron') is null then
    return;  -- pg_cron does not run in this database: nothing is scheduled here
  end if;
  v_jobs := array(select pg_catalog.concat_ws(' | ', j.jobname, j.schedule, j.command, j.active::text)
                  from scheduler.cron_jobs() j order by j.jobname);
  if v_jobs = array[v_default] then
    execute 'select j.username::text from cron.job j where j.jobname = $1' into v_owner using 'scenario-scheduler-daily';
    if v_owner is distinct from current_user
       and not coalesce((select r.rolsuper from pg_catalog.pg_roles r where r.rolname = current_user), false) then
      -- pg_cron lets only a job's owner (or a superuser) remove it.
      raise notice 'scenario-scheduler-daily (0 6 * * * UTC, as the migrations scheduled it) belongs to role %, not to %: left as it is. Its owner switches to the hourly job with: select * from scheduler.schedule_hourly();',
        v_owner, current_user;
      return;
    end if;
    perform scheduler.schedule_hourly();
    raise notice 'scenario-scheduler-daily (0 6 * * * UTC, as the migrations scheduled it) is replaced by scenario-scheduler-hourly (5 * * * *): each organisation is now evaluated at its own send hour (default 08:00) in its own time zone. Back to the daily job: select * from scheduler.schedule_daily();';
  elsif exists (select 1 from scheduler.cron_jobs() j where j.jobname = 'scenario-scheduler-hourly') then
    raise notice 'the hourly job (scenario-scheduler-hourly) is already scheduled: left as it is';
  else
    raise notice 'the scheduler''s cron jobs are not the migrations'' default daily job, so they are left as they are: %. To evaluate each organisation at its own local hour: select * from scheduler.schedule_hourly();',
      case when pg_catalog.cardinality(v_jobs) = 0 then 'no scheduler job'
           else pg_catalog.array_to_string(v_jobs, '; ') end;
  end if;
end
$$;
