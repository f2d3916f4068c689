-- Function scheduler.schedule_hourly, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.schedule_hourly(p_schedule text DEFAULT '5 * * * *'::text, p_shards integer DEFAULT 1) RETURNS TABLE(jobname text, schedule text, command text, active boolean)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $_$
declare
  v_command text;
  v_new     boolean;
begin
  if p_shards is null or p_shards < 1 or p_shards > 64 then
    raise exception 'schedule_hourly: shards must be between 1 and 64, got %', coalesce(p_shards::text, 'null')
      using errcode = '22023';
  end if;
  perform scheduler.require_cron();
  v_command := pg_catalog.format('select scheduler.invoke_due_slots(%L, %s)', 'scenario-scheduler-hourly', p_shards);
  v_new := not exists (select 1 from scheduler.cron_jobs() j where j.jobname = 'scenario-scheduler-hourly');
  perform scheduler.unschedule_jobs(array(
    select j.jobname from scheduler.cron_jobs() j where j.jobname <> 'scenario-scheduler-hourly'));
  execute 'select cron.schedule($1, $2, $3)' using 'scenario-scheduler-hourly', p_schedule, v_command;
  if v_new then
    insert into scheduler.job_starts as s (jobname, started_at) values ('scenario-scheduler-hourly', pg_catalog.now())
    on conflict on constraint job_starts_pkey do update set started_at = excluded.started_at;
  end if;
  return query select * from scheduler.cron_jobs();
end
$_$;

REVOKE ALL ON FUNCTION scheduler.schedule_hourly(p_schedule text, p_shards integer) FROM PUBLIC;
