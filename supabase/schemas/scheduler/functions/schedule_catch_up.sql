-- Function scheduler.schedule_catch_up, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.schedule_catch_up(p_schedule text DEFAULT '10-50/10 6-9 * * *'::text, p_shards integer DEFAULT 1) RETURNS TABLE(jobname text, schedule text, command text, active boolean)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $_$
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
$_$;

REVOKE ALL ON FUNCTION scheduler.schedule_catch_up(p_schedule text, p_shards integer) FROM PUBLIC;
