-- Function scheduler.schedule_continue, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.schedule_continue(p_schedule text DEFAULT '* * * * *'::text) RETURNS TABLE(jobname text, schedule text, command text, active boolean)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $_$
begin
  perform scheduler.require_cron();
  -- Named like the watchdog and retention jobs, not scenario-scheduler-*: it starts no run of its own, so
  -- it is not one of the schedules scheduler.cron_jobs() lists and schedule_daily/hourly/split replace.
  return query execute
    'select j.jobname::text, j.schedule::text, j.command::text, j.active from cron.job j
     where j.jobid = cron.schedule($1, $2, $3)'
    using 'scheduler-continue', p_schedule, 'select scheduler.continue_partial()';
end
$_$;

COMMENT ON FUNCTION scheduler.schedule_continue(p_schedule text) IS 'Schedules (or reschedules) the cron job scheduler-continue, which continues partial runs (scheduler.continue_partial), every minute by default.';

REVOKE ALL ON FUNCTION scheduler.schedule_continue(p_schedule text) FROM PUBLIC;
