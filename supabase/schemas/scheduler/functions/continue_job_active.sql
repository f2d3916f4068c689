-- Function scheduler.continue_job_active, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.continue_job_active() RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $_$
declare
  v boolean;
begin
  -- Static SQL on cron.job would fail to plan where pg_cron is missing.
  if pg_catalog.to_regclass('cron.job') is null then
    return false;
  end if;
  execute 'select exists (select 1 from cron.job j where j.jobname = $1 and j.active
                          and j.database = pg_catalog.current_database())'
    into v using 'scheduler-continue';
  return v;
end
$_$;

COMMENT ON FUNCTION scheduler.continue_job_active() IS 'Whether the cron job scheduler-continue (scheduler.continue_partial, every minute) is scheduled and active in this database.';

REVOKE ALL ON FUNCTION scheduler.continue_job_active() FROM PUBLIC;
