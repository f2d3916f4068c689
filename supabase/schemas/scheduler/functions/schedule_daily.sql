-- Function scheduler.schedule_daily, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.schedule_daily(p_schedule text DEFAULT '0 6 * * *'::text, p_shards integer DEFAULT 1) RETURNS TABLE(jobname text, schedule text, command text, active boolean)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $_$
declare
  v_command text := scheduler.invoke_command('scenario-scheduler-daily', p_shards);
begin
  perform scheduler.require_cron();
  perform scheduler.unschedule_jobs(array(
    select j.jobname from scheduler.cron_jobs() j where j.jobname <> 'scenario-scheduler-daily'));
  execute 'select cron.schedule($1, $2, $3)' using 'scenario-scheduler-daily', p_schedule, v_command;
  return query select * from scheduler.cron_jobs();
end
$_$;

REVOKE ALL ON FUNCTION scheduler.schedule_daily(p_schedule text, p_shards integer) FROM PUBLIC;
