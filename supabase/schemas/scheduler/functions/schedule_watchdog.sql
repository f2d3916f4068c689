-- Function scheduler.schedule_watchdog, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.schedule_watchdog(p_schedule text DEFAULT '*/10 * * * *'::text) RETURNS TABLE(jobname text, schedule text, command text, active boolean)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $_$
begin
  perform scheduler.require_cron();
  return query execute
    'select j.jobname::text, j.schedule::text, j.command::text, j.active from cron.job j
     where j.jobid = cron.schedule($1, $2, $3)'
    using 'scheduler-watchdog', p_schedule, 'select count(*) from scheduler.watchdog()';
end
$_$;

REVOKE ALL ON FUNCTION scheduler.schedule_watchdog(p_schedule text) FROM PUBLIC;
