-- Function scheduler.unplannable_cron_jobs, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.unplannable_cron_jobs() RETURNS TABLE(jobid bigint, jobname text, command text, error text)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  r     record;
  v_cur refcursor;
begin
  if pg_catalog.to_regclass('cron.job') is null then
    return;
  end if;
  for r in execute 'select j.jobid, j.jobname::text as jobname, j.command::text as command from cron.job j
                    where j.database = pg_catalog.current_database() order by j.jobid' loop
    begin
      open v_cur for execute 'explain ' || pg_catalog.rtrim(pg_catalog.btrim(r.command), E'; \n\t');
      close v_cur;
    exception when others then
      jobid := r.jobid;
      jobname := r.jobname;
      command := r.command;
      error := sqlerrm;
      return next;
    end;
  end loop;
end
$$;

COMMENT ON FUNCTION scheduler.unplannable_cron_jobs() IS 'The cron jobs of this database whose command does not plan (EXPLAIN, never run), with the error: e.g. a call of a dropped signature.';

REVOKE ALL ON FUNCTION scheduler.unplannable_cron_jobs() FROM PUBLIC;
