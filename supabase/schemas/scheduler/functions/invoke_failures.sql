-- Function scheduler.invoke_failures, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.invoke_failures(p_now timestamp with time zone DEFAULT now()) RETURNS TABLE(cause text, failures bigint, last_at timestamp with time zone)
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $_$
declare
  v_day0 timestamptz := (p_now at time zone (select s.time_zone from scheduler.ops_settings s))::date::timestamp
                        at time zone (select s.time_zone from scheduler.ops_settings s);
begin
  if pg_catalog.to_regclass('cron.job_run_details') is null then
    return;
  end if;
  -- Today's failed runs of the scheduler's cron jobs after the last sign that scheduler.invoke() works again
  -- (a request it queued, or a run of a scheduler job that succeeded), one row per message: a cause that is
  -- gone is no longer returned, and a different one is a row of its own. A refusal because of a foreign
  -- trigger on pg_net's tables is the watchdog's foreign_trigger while the trigger is there.
  return query execute
    $q$select pg_catalog.left(d.return_message, 300), pg_catalog.count(*), pg_catalog.max(d.end_time)
       from cron.job_run_details d join cron.job j on j.jobid = d.jobid
       where d.status = 'failed' and d.start_time >= $1 and d.start_time <= $2
         and scheduler.job_scenarios(j.command) is not null
         and d.start_time > coalesce(greatest(
               (select pg_catalog.max(i.queued_at) from scheduler.invocations i where i.queued_at >= $1 and i.queued_at <= $2),
               (select pg_catalog.max(o.end_time) from cron.job_run_details o join cron.job oj on oj.jobid = o.jobid
                where o.status = 'succeeded' and o.start_time >= $1 and o.start_time <= $2
                  and scheduler.job_scenarios(oj.command) is not null)), '-infinity')
         and not (d.return_message like '%refusing to queue%' and scheduler.foreign_net_triggers() is not null)
       group by 1
       order by 3$q$ using v_day0, p_now;
end
$_$;

COMMENT ON FUNCTION scheduler.invoke_failures(p_now timestamp with time zone) IS 'Today''s failed runs of the scheduler''s cron jobs since scheduler.invoke() last worked, grouped by message (the watchdog''s invoke_failed, one per cause).';

REVOKE ALL ON FUNCTION scheduler.invoke_failures(p_now timestamp with time zone) FROM PUBLIC;
