-- Function scheduler.account_requests, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.account_requests(p_now timestamp with time zone DEFAULT now()) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $_$
declare
  n integer;
begin
  if pg_catalog.to_regclass('net._http_response') is null or pg_catalog.to_regclass('net.http_request_queue') is null then
    return 0;
  end if;
  -- Each request gets its outcome once, from pg_net's answer, so that the watchdog's findings do not depend
  -- on pg_net keeping answers (6 hours) nor on a later success. A request with no answer after the wait is
  -- lost when it is no longer in the queue: deleted or rewritten by another role, or dropped by the worker.
  -- One still queued waits (no_answer: the worker is not sending). cron.job_run_details is not consulted: its
  -- "succeeded" means only that the request was queued. The answer is matched by id and time, because pg_net
  -- gives ids again after its extension is re-created.
  execute $q$
    update scheduler.invocations i
    set outcome = x.outcome, outcome_detail = x.detail, accounted_at = $1
    from (
      select i.id,
             case when r.id is null then 'lost'
                  when r.timed_out then 'timeout'
                  when r.status_code is null then 'unreachable'
                  when r.status_code between 200 and 299 then 'ok'
                  when r.status_code = 401 then 'unauthorised'
                  else 'http_error' end as outcome,
             case when r.id is null and i.queued_at < $1 - interval '5 hours'
                    then 'no answer on record when first looked at, more than 5 hours after it was queued (pg_net keeps answers 6 hours)'
                  when r.id is null then 'no answer, and gone from pg_net''s queue (deleted or rewritten by another role, or dropped)'
                  when r.status_code is null then pg_catalog.left(coalesce(r.error_msg, 'no status'), 200)
                  else 'HTTP ' || r.status_code end as detail
      from scheduler.invocations i
      left join net._http_response r
        on r.id = i.request_id and r.created between i.queued_at - interval '1 minute' and i.queued_at + interval '6 hours'
      where i.outcome is null and i.queued_at <= $1
        and (r.id is not null
             or (i.queued_at <= $1 - pg_catalog.make_interval(mins => $2)
                 and not exists (select 1 from net.http_request_queue q where q.id = i.request_id)))
    ) x
    where x.id = i.id$q$ using p_now, (select s.answer_wait_minutes from scheduler.ops_settings s);
  get diagnostics n = row_count;
  return n;
end
$_$;

COMMENT ON FUNCTION scheduler.account_requests(p_now timestamp with time zone) IS 'Records the outcome of each request in scheduler.invocations once pg_net answered it, or once it is overdue and gone from pg_net''s queue (lost); returns how many it recorded. Called by scheduler.watchdog().';

REVOKE ALL ON FUNCTION scheduler.account_requests(p_now timestamp with time zone) FROM PUBLIC;
