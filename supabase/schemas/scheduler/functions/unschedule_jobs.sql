-- Function scheduler.unschedule_jobs, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.unschedule_jobs(p_names text[]) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $_$
declare
  n text;
begin
  perform scheduler.require_cron();
  foreach n in array coalesce(p_names, '{}') loop
    execute 'select cron.unschedule(j.jobid) from cron.job j where j.jobname = $1' using n;
  end loop;
end
$_$;

REVOKE ALL ON FUNCTION scheduler.unschedule_jobs(p_names text[]) FROM PUBLIC;
