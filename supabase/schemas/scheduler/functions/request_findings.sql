-- Function scheduler.request_findings, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.request_findings(p_now timestamp with time zone DEFAULT now()) RETURNS TABLE(problem text, cause text, detail text, since timestamp with time zone)
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $_$
declare
  s         scheduler.ops_settings;
  v_day0    timestamptz;
  v_last_ok timestamptz;
  r         record;
begin
  select * into s from scheduler.ops_settings;
  v_day0 := (p_now at time zone s.time_zone)::date::timestamp at time zone s.time_zone;

  -- Failed answers after today's last 2xx, one finding per kind and answer ("HTTP 503", an error message):
  -- a later success resolves them, a different answer is a cause of its own. The outcomes are the ones
  -- scheduler.account_requests() recorded, so they outlive pg_net's answers.
  v_last_ok := (select pg_catalog.max(i.queued_at) from scheduler.invocations i
                where i.outcome = 'ok' and i.queued_at >= v_day0 and i.queued_at <= p_now);
  for r in
    select i.outcome, i.outcome_detail, pg_catalog.count(*) as n, pg_catalog.max(i.queued_at) as at
    from scheduler.invocations i
    where i.outcome in ('unauthorised', 'unreachable', 'timeout', 'http_error')
      and i.queued_at >= v_day0 and i.queued_at <= p_now and i.queued_at > coalesce(v_last_ok, '-infinity')
    group by i.outcome, i.outcome_detail
    order by i.outcome, i.outcome_detail
  loop
    problem := r.outcome;
    cause := r.outcome_detail;
    detail := pg_catalog.format('%s request(s) since the last success; last: %s', r.n, r.outcome_detail) ||
      case r.outcome
        when 'unauthorised' then ': the Vault secret does not match the function''s secret'
        when 'unreachable' then ': the URL in Vault is unreachable from the database'
        when 'timeout' then ': the function did not answer within pg_net''s timeout'
        else '' end;
    since := r.at;
    return next;
  end loop;

  -- Requests still in pg_net's queue after the wait: its worker is not sending. One finding per spell,
  -- named after its oldest request (the worker sends them all when it is back).
  if pg_catalog.to_regclass('net.http_request_queue') is not null then
    for r in execute
      $q$select pg_catalog.count(*) as n, (pg_catalog.array_agg(i.request_id order by i.queued_at, i.id))[1] as first_id,
                (pg_catalog.array_agg(coalesce('job ' || i.job, i.trigger) order by i.queued_at, i.id))[1] as job,
                pg_catalog.min(i.queued_at) as at
         from scheduler.invocations i
         where i.outcome is null and i.queued_at <= $1 - pg_catalog.make_interval(mins => $2)
           and exists (select 1 from net.http_request_queue q where q.id = i.request_id)
         having pg_catalog.count(*) > 0$q$ using p_now, s.answer_wait_minutes
    loop
      problem := 'no_answer';
      cause := 'request ' || r.first_id;
      detail := pg_catalog.format('%s request(s) still in pg_net''s queue after %s min; first: request %s of %s queued at %s UTC: pg_net''s worker did not answer (is it running, and does pg_net.database_name name this database?)',
        r.n, s.answer_wait_minutes, r.first_id, r.job, pg_catalog.to_char(r.at at time zone 'UTC', 'YYYY-MM-DD HH24:MI'));
      since := r.at;
      return next;
    end loop;
  end if;

  -- Each request found lost today, one finding each (a later success of another request does not undo
  -- it), until a request of the same kind (its slot, shard, scenarios or all, dry or not) is answered 2xx
  -- after the loss was seen.
  for r in
    select i.request_id, coalesce('job ' || i.job, i.trigger) as job, i.queued_at, i.outcome_detail,
           coalesce(' for slot ' || i.slot, '') || coalesce(' shard ' || i.shard, '') as what
    from scheduler.invocations i
    where i.outcome = 'lost' and i.accounted_at >= v_day0 and i.accounted_at <= p_now
      and not exists (select 1 from scheduler.invocations l
                      where l.outcome = 'ok' and l.accounted_at > i.accounted_at and l.accounted_at <= p_now
                        and l.dry_run = i.dry_run and l.slot is not distinct from i.slot
                        and (l.shard is null or l.shard = i.shard)
                        and (l.scenarios is null or l.scenarios @> i.scenarios))
    order by i.queued_at, i.id
  loop
    problem := 'request_lost';
    cause := 'request ' || r.request_id;
    detail := pg_catalog.format('request %s of %s%s, queued at %s UTC: %s; no run followed from it, whatever cron.job_run_details says',
      r.request_id, r.job, r.what, pg_catalog.to_char(r.queued_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI'), r.outcome_detail);
    since := r.queued_at;
    return next;
  end loop;
end
$_$;

COMMENT ON FUNCTION scheduler.request_findings(p_now timestamp with time zone) IS 'The watchdog''s findings about the requests scheduler.invoke() queued: failed answers since the last success, requests pg_net''s worker has not sent, requests lost (scheduler.account_requests records the outcomes).';

REVOKE ALL ON FUNCTION scheduler.request_findings(p_now timestamp with time zone) FROM PUBLIC;
