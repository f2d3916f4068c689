-- Function scheduler.cron_jobs, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.cron_jobs() RETURNS TABLE(jobname text, schedule text, command text, active boolean)
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  perform scheduler.require_cron();
  return query execute
    'select j.jobname::text, j.schedule::text, j.command::text, j.active from cron.job j
     where j.jobname like ''scenario-scheduler-%'' order by j.jobname';
end
$$;

REVOKE ALL ON FUNCTION scheduler.cron_jobs() FROM PUBLIC;
