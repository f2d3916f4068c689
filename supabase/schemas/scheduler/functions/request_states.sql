-- Function scheduler.request_states, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.request_states(p_since timestamp with time zone, p_now timestamp with time zone DEFAULT now()) RETURNS TABLE(id bigint, queued_at timestamp with time zone, job text, scenarios text[], dry_run boolean, shard text, slot text, evaluation_date date, state text)
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $_$
begin
  -- Without pg_net nothing was queued by scheduler.invoke() (it refuses), and nothing waits.
  if pg_catalog.to_regclass('net._http_response') is null or pg_catalog.to_regclass('net.http_request_queue') is null then
    return query
    select i.id, i.queued_at, i.job, i.scenarios, i.dry_run, i.shard, i.slot, i.evaluation_date,
           case when i.outcome in ('ok', 'not_checked') then 'ok' else 'failed' end
    from scheduler.invocations i where i.queued_at > p_since and i.queued_at <= p_now;
    return;
  end if;
  -- Each request as scheduler.continue_partial() needs it, before the watchdog accounted for it (every 10
  -- minutes): 'ok' (a 2xx answer), 'failed' (any other answer, a timeout, a connection error, or no answer
  -- after the wait while gone from the queue: lost), 'waiting' (still queued, or in flight within the wait).
  -- Answers are matched by id and time, as scheduler.account_requests() does.
  return query execute $q$
    select i.id, i.queued_at, i.job, i.scenarios, i.dry_run, i.shard, i.slot, i.evaluation_date,
           case when i.outcome in ('ok', 'not_checked') then 'ok'
                when i.outcome is not null then 'failed'
                when r.id is not null and not coalesce(r.timed_out, false) and r.status_code between 200 and 299 then 'ok'
                when r.id is not null then 'failed'
                when exists (select 1 from net.http_request_queue q where q.id = i.request_id)
                     or i.queued_at > $2 - pg_catalog.make_interval(mins => $3) then 'waiting'
                else 'failed' end
    from scheduler.invocations i
    left join net._http_response r
      on r.id = i.request_id and r.created between i.queued_at - interval '1 minute' and i.queued_at + interval '6 hours'
    where i.queued_at > $1 and i.queued_at <= $2$q$
    using p_since, p_now, (select s.answer_wait_minutes from scheduler.ops_settings s);
end
$_$;

COMMENT ON FUNCTION scheduler.request_states(p_since timestamp with time zone, p_now timestamp with time zone) IS 'The requests scheduler.invoke() queued since p_since, each ok, failed or waiting (for pg_net''s answer), whether or not the watchdog has accounted for it yet.';

REVOKE ALL ON FUNCTION scheduler.request_states(p_since timestamp with time zone, p_now timestamp with time zone) FROM PUBLIC;
