-- The daily job by default again: scenario-scheduler-daily, '0 6 * * *' (06:00 UTC = 07:00 in Norway in
-- winter (CET), 08:00 in summer (CEST)), calling scheduler.invoke(), which reads the function's URL and
-- secret from Vault. It is the job the original task names and the one its verification checklist looks for.
--
-- * Where pg_cron runs in this database and the scheduler's jobs are exactly the hourly job as
--   20261201160600_hourly_by_default.sql (in its former version) left it (only scenario-scheduler-hourly,
--   '5 * * * *', its default command, active), the hourly job is replaced by the daily job
--   (scheduler.schedule_daily()), with a NOTICE. An operator who chose the hourly job with its defaults
--   looks the same: the NOTICE says how to keep it (select * from scheduler.schedule_hourly();).
-- * Any other schedule is an operator's choice (the daily job already, another time, a split, shards, the
--   hourly job at another frequency, a paused or removed job): it is left as it is, without a NOTICE for the
--   daily default itself. So is an untouched hourly job that belongs to another role (pg_cron lets only a
--   job's owner, or a superuser, remove it): a NOTICE gives its owner the call.
-- * What changes for the projects switched back: the whole project is evaluated at 06:00 UTC for the date
--   of SCHEDULER_TIMEZONE (default Europe/Oslo), not each organisation at its own send hour for its own
--   local date. On the day of the switch, a switch after 06:00 UTC leaves the organisations whose slot has
--   not run yet without a run that day: the watchdog reports run_missing, and
--   select scheduler.invoke(null, 'scenario-scheduler-daily'); runs the day (the NOTICE says so).
-- Works with and without pg_cron, pg_net and Vault (without pg_cron in this database nothing is scheduled).
-- Safe to apply twice: the second application finds the daily job and leaves it as it is (same job id).

do $$
declare
  v_hourly constant text :=
    'scenario-scheduler-hourly | 5 * * * * | select scheduler.invoke_due_slots(''scenario-scheduler-hourly'', 1) | true';
  v_daily constant text :=
    'scenario-scheduler-daily | 0 6 * * * | select scheduler.invoke(null, ''scenario-scheduler-daily'') | true';
  v_jobs  text[];
  v_owner text;
begin
  if pg_catalog.to_regnamespace('cron') is null then
    return;  -- pg_cron does not run in this database: nothing is scheduled here
  end if;
  v_jobs := array(select pg_catalog.concat_ws(' | ', j.jobname, j.schedule, j.command, j.active::text)
                  from scheduler.cron_jobs() j order by j.jobname);
  if v_jobs = array[v_daily] then
    return;  -- the default: nothing to say
  elsif v_jobs = array[v_hourly] then
    execute 'select j.username::text from cron.job j where j.jobname = $1' into v_owner using 'scenario-scheduler-hourly';
    if v_owner is distinct from current_user
       and not coalesce((select r.rolsuper from pg_catalog.pg_roles r where r.rolname = current_user), false) then
      raise notice 'scenario-scheduler-hourly (5 * * * *, as the migrations scheduled it) belongs to role %, not to %: left as it is. Its owner switches to the daily job (06:00 UTC) with: select * from scheduler.schedule_daily();',
        v_owner, current_user;
      return;
    end if;
    perform scheduler.schedule_daily();
    raise notice 'scenario-scheduler-hourly (5 * * * *, as the migrations scheduled it) is replaced by scenario-scheduler-daily (0 6 * * * UTC = 07:00 CET, 08:00 CEST): the whole project is evaluated once a day for the date of SCHEDULER_TIMEZONE. If today''s run has not happened and 06:00 UTC has passed: select scheduler.invoke(null, ''scenario-scheduler-daily''); Organisations in several time zones keep the hourly job with: select * from scheduler.schedule_hourly();';
  else
    raise notice 'the scheduler''s cron jobs are an operator''s choice, left as they are: %. The default is the daily job: select * from scheduler.schedule_daily();',
      case when pg_catalog.cardinality(v_jobs) = 0 then 'no scheduler job'
           else pg_catalog.array_to_string(v_jobs, '; ') end;
  end if;
end
$$;
