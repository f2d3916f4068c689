-- Alternative schedules an operator switches to by calling a function (see docs/supabase.md):
--
--   select * from scheduler.schedule_split();     -- one cron job per scenario instead of the daily job
--   select * from scheduler.schedule_catch_up();  -- add a job that re-invokes while today's run is partial
--   select * from scheduler.schedule_daily();     -- back to the single daily job (removes the others)
--   select * from scheduler.cron_jobs();          -- what is scheduled now
--
-- They are SECURITY INVOKER: the jobs belong to, and run as, the operator who schedules them (as the daily
-- job belongs to the role that applied the migrations). They need pg_cron in this database.
-- Safe to apply twice.

-- Fails with a clear message where pg_cron is not installed in this database.
create or replace function scheduler.require_cron()
returns void
language plpgsql stable set search_path = ''
as $$
begin
  if pg_catalog.to_regnamespace('cron') is null then
    raise exception 'pg_cron is not installed in database %', pg_catalog.current_database()
      using errcode = '55000',
            hint = format('pg_cron runs in database %s (cron.database_name); enable it there: create extension pg_cron;',
                          coalesce(pg_catalog.current_setting('cron.database_name', true), 'postgres'));
  end if;
end
$$;

-- The scenario scheduler's cron jobs: every job whose name starts with scenario-scheduler-.
create or replace function scheduler.cron_jobs()
returns table (jobname text, schedule text, command text, active boolean)
language plpgsql stable set search_path = ''
as $$
begin
  perform scheduler.require_cron();
  return query execute
    'select j.jobname::text, j.schedule::text, j.command::text, j.active from cron.job j
     where j.jobname like ''scenario-scheduler-%'' order by j.jobname';
end
$$;

-- One job per scenario, named scenario-scheduler-<scenario> (underscores become dashes), each invoking the
-- function for that scenario alone, so each scenario gets its own 30 s budget. Use it when one run cannot
-- evaluate every scenario in time. p_scenarios null: every scenario with a default configuration row.
-- The jobs start p_stagger_minutes apart from p_minute past p_hour (UTC); the daily job is removed.
create or replace function scheduler.schedule_split(
  p_scenarios text[] default null, p_hour integer default 6, p_minute integer default 0,
  p_stagger_minutes integer default 5)
returns table (jobname text, schedule text, command text, active boolean)
language plpgsql volatile set search_path = ''
as $$
declare
  v_scenarios text[];
  v_name      text;
  v_minute    integer;
  i           integer := 0;
  s           text;
begin
  perform scheduler.require_cron();
  if p_hour not between 0 and 23 or p_minute not between 0 and 59 or p_stagger_minutes < 0 then
    raise exception 'schedule_split: hour must be 0-23, minute 0-59, stagger at least 0' using errcode = '22023';
  end if;
  v_scenarios := coalesce(p_scenarios, array(
    select c.scenario from scheduler.scenario_config c where c.organisation_id is null
    order by c.priority desc, c.scenario));
  foreach s in array v_scenarios loop
    if not exists (select 1 from scheduler.scenario_config c where c.scenario = s and c.organisation_id is null) then
      raise exception 'schedule_split: unknown scenario %', pg_catalog.quote_literal(s) using errcode = '22023';
    end if;
  end loop;

  -- Remove per-scenario jobs of an earlier split that are no longer wanted, and the daily job.
  perform scheduler.unschedule_jobs(array(
    select j.jobname from scheduler.cron_jobs() j
    where j.jobname = 'scenario-scheduler-daily'
       or (j.jobname <> 'scenario-scheduler-catch-up'
           and j.jobname not in (select 'scenario-scheduler-' || pg_catalog.replace(x, '_', '-')
                                 from pg_catalog.unnest(v_scenarios) x))));

  foreach s in array v_scenarios loop
    v_name := 'scenario-scheduler-' || pg_catalog.replace(s, '_', '-');
    v_minute := p_minute + i * p_stagger_minutes;
    execute 'select cron.schedule($1, $2, $3)' using
      v_name,
      format('%s %s * * *', v_minute % 60, (p_hour + v_minute / 60) % 24),
      format('select scheduler.invoke(array[%L], %L)', s, v_name);
    i := i + 1;
  end loop;
  return query select * from scheduler.cron_jobs();
end
$$;

-- Adds scenario-scheduler-catch-up: re-invokes the function on p_schedule (UTC; default every 10 minutes
-- from 06:10 to 09:50). While today's run is partial, each call resumes it from its checkpoints; once it is
-- complete the function answers already_completed without evaluating anyone.
create or replace function scheduler.schedule_catch_up(p_schedule text default '10-50/10 6-9 * * *')
returns table (jobname text, schedule text, command text, active boolean)
language plpgsql volatile set search_path = ''
as $$
begin
  perform scheduler.require_cron();
  execute 'select cron.schedule($1, $2, $3)' using
    'scenario-scheduler-catch-up', p_schedule,
    'select scheduler.invoke(null, ''scenario-scheduler-catch-up'')';
  return query select * from scheduler.cron_jobs();
end
$$;

-- Back to the single daily job at p_schedule (UTC): removes the per-scenario and catch-up jobs.
create or replace function scheduler.schedule_daily(p_schedule text default '0 6 * * *')
returns table (jobname text, schedule text, command text, active boolean)
language plpgsql volatile set search_path = ''
as $$
begin
  perform scheduler.require_cron();
  perform scheduler.unschedule_jobs(array(
    select j.jobname from scheduler.cron_jobs() j where j.jobname <> 'scenario-scheduler-daily'));
  execute 'select cron.schedule($1, $2, $3)' using
    'scenario-scheduler-daily', p_schedule, 'select scheduler.invoke()';
  return query select * from scheduler.cron_jobs();
end
$$;

-- Removes the named jobs (those that exist).
create or replace function scheduler.unschedule_jobs(p_names text[])
returns void
language plpgsql volatile set search_path = ''
as $$
declare
  n text;
begin
  perform scheduler.require_cron();
  foreach n in array coalesce(p_names, '{}') loop
    execute 'select cron.unschedule(j.jobid) from cron.job j where j.jobname = $1' using n;
  end loop;
end
$$;

revoke all on function scheduler.require_cron() from public;
revoke all on function scheduler.cron_jobs() from public;
revoke all on function scheduler.schedule_split(text[], integer, integer, integer) from public;
revoke all on function scheduler.schedule_catch_up(text) from public;
revoke all on function scheduler.schedule_daily(text) from public;
revoke all on function scheduler.unschedule_jobs(text[]) from public;
