-- Function scheduler.partial_parts, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.partial_parts(p_now timestamp with time zone DEFAULT now(), p_max integer DEFAULT NULL::integer) RETURNS TABLE(evaluation_date date, slot text, shards integer, scenarios text[], state text, continuations integer)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  -- A part is what one request (times its shards) evaluates: a date, a slot ('' for the whole project), a
  -- shard layout and the scenarios it named (null: every enabled one). Listed: each part whose runs of the
  -- last day left it incomplete, with what scheduler.continue_partial() does about it (state):
  --   continue  queue a continuation now;
  --   leased    a run holds one of its checkpoints (it is being evaluated);
  --   waiting   a request for it still waits for pg_net's answer (queued, or in flight);
  --   failing   a shard's last two requests failed (non-2xx, timeout, unreachable, lost): left to the watchdog;
  --   bound     it had p_max continuations (ops_settings.continue_max) already;
  --   off       p_max is 0;
  --   elsewhere no request of scheduler.invoke() started it (Cloud Scheduler, curl, the Lambda console):
  --             its own caller resumes it, and the database has no request of it to repeat.
  -- Only runs that evaluated count (not dry runs, nor delivery-only runs, nor busy or already_completed
  -- answers, which say that another run has the part): a part is incomplete when a shard's latest such run
  -- is partial, failed, or still 'running' minutes after its start (the function died; abandoned once
  -- scheduler.prune closed it), and the date is
  -- not complete for the slot and those scenarios in any layout (scheduler.part_done).
  with runs as (
    select r.evaluation_date as d, coalesce(r.request ->> 'slot', '') as sl,
           coalesce(pg_catalog.split_part(r.request ->> 'shard', '/', 2)::integer, 1) as n,
           coalesce(pg_catalog.split_part(r.request ->> 'shard', '/', 1)::integer, 1) as k,
           scheduler.scenario_set(r.request -> 'scenarios') as sc, r.status, r.started_at
    from scheduler.runs r
    where r.started_at > p_now - interval '1 day' and r.started_at <= p_now and not r.dry_run
      and coalesce(r.request ->> 'deliver_only', 'false') <> 'true'
      and r.status in ('completed', 'partial', 'failed', 'running', 'abandoned')
  ), latest as (
    select distinct on (x.d, x.sl, x.n, x.sc, x.k) x.*
    from runs x order by x.d, x.sl, x.n, x.sc, x.k, x.started_at desc
  ), parts as (
    select l.d, l.sl, l.n, l.sc from latest l
    group by l.d, l.sl, l.n, l.sc
    having pg_catalog.bool_or(l.status in ('partial', 'failed', 'abandoned')
                              or (l.status = 'running' and l.started_at < p_now - interval '2 minutes'))
  ), requests as (
    -- The part's requests: same slot, layout and scenarios, its date (or none named: the daily job's, that day).
    select p.d, p.sl, p.n, p.sc, q.job, q.state,
           coalesce(pg_catalog.split_part(q.shard, '/', 1)::integer, 1) as k,
           pg_catalog.row_number() over (partition by p.d, p.sl, p.n, p.sc, q.shard, q.state = 'waiting'
                                         order by q.queued_at desc) as recent
    from parts p
    join scheduler.request_states(p_now - interval '1 day', p_now) q
      on not q.dry_run and coalesce(q.slot, '') = p.sl
     and coalesce(pg_catalog.split_part(q.shard, '/', 2)::integer, 1) = p.n
     and scheduler.scenario_set(pg_catalog.to_jsonb(q.scenarios)) is not distinct from p.sc
     and (q.evaluation_date = p.d
          or (q.evaluation_date is null and abs((q.queued_at at time zone 'UTC')::date - p.d) <= 1))
  ), shards as (
    select r.d, r.sl, r.n, r.sc, r.k,
           pg_catalog.count(*) as requests,
           pg_catalog.count(*) filter (where r.job = 'scheduler-continue') as continued,
           pg_catalog.bool_or(r.state = 'waiting') as waiting,
           pg_catalog.count(*) filter (where r.state = 'failed' and r.recent <= 2) = 2 as failing
    from requests r group by r.d, r.sl, r.n, r.sc, r.k
  )
  select p.d, p.sl, p.n, p.sc,
         case when coalesce(h.requests, 0) = 0 then 'elsewhere'
              when coalesce(p_max, s.continue_max) = 0 then 'off'
              when exists (select 1 from scheduler.checkpoints c
                           where c.evaluation_date = p.d and c.slot = p.sl and c.shards = p.n
                             and (p.sc is null or c.scenario = any (p.sc)) and c.lease_until > p_now) then 'leased'
              when coalesce(h.waiting, false) then 'waiting'
              when coalesce(h.failing, false) then 'failing'
              when coalesce(h.continued, 0) >= coalesce(p_max, s.continue_max) then 'bound'
              else 'continue' end,
         coalesce(h.continued, 0)::integer
  from parts p
  cross join scheduler.ops_settings s
  left join lateral (
    select pg_catalog.sum(x.requests) as requests, pg_catalog.max(x.continued) as continued,
           pg_catalog.bool_or(x.waiting) as waiting,
           pg_catalog.bool_or(x.failing) as failing
    from shards x where x.d = p.d and x.sl = p.sl and x.n = p.n and x.sc is not distinct from p.sc) h on true
  where not scheduler.part_done(p.d, p.sl, p.sc)
  order by p.d, p.sl, p.n, p.sc
$$;

COMMENT ON FUNCTION scheduler.partial_parts(p_now timestamp with time zone, p_max integer) IS 'Each part of a run (date, slot, shard layout, scenarios) that the last day''s runs left incomplete, and whether scheduler.continue_partial() continues it now (state continue) or why not (leased, waiting, failing, bound, off, elsewhere), with how many continuations it had.';

REVOKE ALL ON FUNCTION scheduler.partial_parts(p_now timestamp with time zone, p_max integer) FROM PUBLIC;
