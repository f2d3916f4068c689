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
-- * On the day of a switch the watchdog expects a slot whose send hour had already passed at the hourly
--   job's first call after the switch, not at a send hour when no hourly job existed (scheduler.job_starts,
--   kept by schedule_hourly in 20261201160300_local_time_schedules.sql): no run_missing for a slot the next
--   call is about to run. The daily job, once removed, is expected by nobody.
-- Works with and without pg_cron, pg_net and Vault (without pg_cron in this database nothing is scheduled).
-- Safe to apply twice: the second application finds the hourly job and leaves it as it is.

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
