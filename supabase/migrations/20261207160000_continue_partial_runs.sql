-- A partial run continues within a minute, instead of at the next scheduled call.
--
-- A run that needs several invocations (the 30 s budget per invocation; a large project) answered partial and
-- waited for the next call of its schedule: an hour with the hourly job, the catch-up job's next call, or the
-- next day with the daily job alone, so the pushes of its last batches went out late. The cron job
-- scheduler-continue runs scheduler.continue_partial() every minute ('* * * * *': pg_cron 1.4 has no seconds
-- schedules). It queues, through scheduler.invoke() and all its guards, the same signed request again for
-- each part of a run (date, slot, shard layout, scenarios) that its runs left incomplete: no live lease, no
-- request still waiting for pg_net's answer, not after two failed answers in a row (the watchdog's
-- run_partial and http_error alerts take over), at most scheduler.ops_settings.continue_max continuations
-- (20; 0 turns continuation off), never for a dry run, never for a complete date, never for a run that no
-- request of scheduler.invoke() started (scheduler.partial_parts says which parts and why). The watchdog's
-- run_partial says whether the continue job was there to resume the run.
--
-- * scheduler.ops_settings.continue_max: the bound, a setting (0 to 100).
-- * scheduler.invocations.evaluation_date: the date a request named, so that a continuation is counted for
--   its date.
-- * The job is named like scheduler-watchdog and scheduler-retention, not scenario-scheduler-*: it starts no
--   run of its own, so it is not one of the schedules that scheduler.cron_jobs() lists, that
--   schedule_daily/schedule_hourly/schedule_split replace, or that the watchdog's not_scheduled counts. It is
--   created where pg_cron runs in this database and no such job exists (applied again, it leaves the job, and
--   its id, as they are; a NOTICE says why not elsewhere).
-- Works with and without pg_cron, pg_net and Vault.

alter table scheduler.ops_settings add column if not exists continue_max integer not null default 20;
do $$
begin
  if not exists (select 1 from pg_catalog.pg_constraint c
                 where c.conrelid = 'scheduler.ops_settings'::regclass and c.conname = 'ops_settings_continue_max_check') then
    alter table scheduler.ops_settings
      add constraint ops_settings_continue_max_check check (continue_max >= 0 and continue_max <= 100);
  end if;
end
$$;
comment on column scheduler.ops_settings.continue_max is 'How many continuations scheduler.continue_partial() queues at most for one date and part of a run (0: none; docs/supabase.md).';

alter table scheduler.invocations add column if not exists evaluation_date date;
comment on column scheduler.invocations.evaluation_date is 'The date the request named, null when it named none (the function''s today).';

-- The functions, as the SQL tree (supabase/schemas) has them.
-- scheduler/functions/continue_partial.sql
CREATE OR REPLACE FUNCTION scheduler.continue_partial(p_max integer DEFAULT NULL::integer) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  r record;
  n integer := 0;
begin
  if p_max is not null and (p_max < 0 or p_max > 100) then
    raise exception 'continue_partial: p_max must be between 0 and 100, got %', p_max using errcode = '22023';
  end if;
  -- One caller at a time: a second call sees the first one's requests as waiting, and queues nothing twice.
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('scheduler.continue_partial'));
  -- The same request as the part's runs (date, slot, shards, scenarios), so that each resumes from its
  -- checkpoints, through scheduler.invoke() and all its guards (Vault, signature, pg_net's tables); named
  -- by the job, so that the function's report says cron:scheduler-continue and the bound can count it.
  for r in select * from scheduler.partial_parts(pg_catalog.now(), p_max) p where p.state = 'continue' loop
    perform scheduler.invoke(r.scenarios, 'scheduler-continue', false, r.shards, nullif(r.slot, ''), r.evaluation_date);
    n := n + r.shards;
  end loop;
  return n;
end
$$;

COMMENT ON FUNCTION scheduler.continue_partial(p_max integer) IS 'Queues a continuation (the same request, signed, through scheduler.invoke) for each part of a run that answered partial and may be continued now (scheduler.partial_parts: no lease, no request waiting, not failing twice, under the bound p_max or ops_settings.continue_max); returns how many requests it queued. Run every minute by the cron job scheduler-continue.';

REVOKE ALL ON FUNCTION scheduler.continue_partial(p_max integer) FROM PUBLIC;

-- scheduler/functions/invoke.sql
CREATE OR REPLACE FUNCTION scheduler.invoke(scenarios text[] DEFAULT NULL::text[], job text DEFAULT NULL::text, dry_run boolean DEFAULT false, shards integer DEFAULT 1, slot text DEFAULT NULL::text, evaluation_date date DEFAULT NULL::date) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
declare
  -- Longer than the function's 30 s budget plus cold start, so pg_net records the answer, not a timeout.
  c_timeout_ms constant integer := 45000;
  v_url     text;
  v_queued_url text;
  v_secret  text;
  v_ts      text;
  v_nonce   text;
  v_path    text;
  v_caller  text;
  v_body    jsonb;
  v_headers jsonb;
  v_foreign text;
  v_id      bigint;
  v_exact   boolean;
  v_first   bigint;
  v_base    jsonb;  -- [lint] no "k integer": the loop below declares its own k
begin
  if pg_catalog.to_regclass('vault.decrypted_secrets') is null then
    raise exception 'scheduler.invoke: Supabase Vault is not installed (vault.decrypted_secrets is missing)'
      using errcode = '55000', hint = 'Enable the supabase_vault extension, then store the function URL and secret in Vault.';
  end if;
  if pg_catalog.to_regclass('net.http_request_queue') is null or pg_catalog.to_regclass('net._http_response') is null then
    raise exception 'scheduler.invoke: pg_net is not installed (its queue net.http_request_queue is missing)'
      using errcode = '55000',
            hint = 'pg_net must be in shared_preload_libraries (then restart the server); then: create extension pg_net with schema extensions;';
  end if;

  -- No trigger can be added to pg_net's tables until this transaction ends: CREATE TRIGGER needs a lock
  -- that conflicts with ROW EXCLUSIVE.
  lock table net.http_request_queue, net._http_response in row exclusive mode;
  perform scheduler.ensure_net_guard();
  v_foreign := scheduler.foreign_net_triggers();
  if v_foreign is not null then
    raise exception 'scheduler.invoke: refusing to queue: pg_net''s tables carry triggers the scheduler does not expect: %', v_foreign
      using errcode = '55000',
            hint = 'A trigger on pg_net''s queue runs with the rights of whoever queues a request, and this function reads Vault. '
                   'Find out who created it, and drop it as the owner of schema net.';
  end if;

  select s.decrypted_secret into v_url
  from vault.decrypted_secrets s where s.name = 'scenario_scheduler_url'
  order by s.created_at desc limit 1;
  select s.decrypted_secret into v_secret
  from vault.decrypted_secrets s where s.name = 'scenario_scheduler_secret'
  order by s.created_at desc limit 1;

  if v_url is null or v_url = '' then
    raise exception 'scheduler.invoke: Vault secret "scenario_scheduler_url" is missing or empty'
      using errcode = '55000',
            hint = 'select vault.create_secret(''https://<your function URL>'', ''scenario_scheduler_url'');';
  end if;
  if v_secret is null or v_secret = '' then
    raise exception 'scheduler.invoke: Vault secret "scenario_scheduler_secret" is missing or empty'
      using errcode = '55000',
            hint = 'select vault.create_secret(''<SCHEDULER_SECRET of the function>'', ''scenario_scheduler_secret'');';
  end if;

  -- [sharded fan-out] 1 to 64 shards; checked before anything is queued.
  if shards is null or shards < 1 or shards > 64 then
    raise exception 'scheduler.invoke: shards must be between 1 and 64, got %', coalesce(shards::text, 'null')
      using errcode = '22023';
  end if;
  -- [local time] a slot in the function's form, and a date; checked before anything is queued.
  if slot is not null and (slot = '' or not scheduler.slot_form(slot)) then
    raise exception 'scheduler.invoke: slot must be "<time zone>@<HH>" (for example "Europe/Oslo@08"), got %',
      pg_catalog.quote_literal(pg_catalog.left(slot, 40)) using errcode = '22023';
  end if;
  if job is not null and job !~ '^[A-Za-z0-9._-]{1,64}$' then
    raise exception 'scheduler.invoke: job must be 1 to 64 characters of A-Z, a-z, 0-9, ''.'', ''-'' and ''_'''
      using errcode = '22023';
  end if;
  if job is not null then
    v_body := pg_catalog.jsonb_build_object('trigger', 'cron', 'job', job);
  else
    -- The role that called, in the characters the function accepts (others become '_').
    v_caller := pg_catalog.left(pg_catalog.regexp_replace(session_user::text, '[^A-Za-z0-9._-]', '_', 'g'), 64);
    v_body := pg_catalog.jsonb_build_object('trigger', 'manual', 'caller', coalesce(nullif(v_caller, ''), 'unknown'));
  end if;
  if scenarios is not null then
    v_body := v_body || pg_catalog.jsonb_build_object('scenarios', pg_catalog.to_jsonb(scenarios));
  end if;
  if dry_run then
    v_body := v_body || pg_catalog.jsonb_build_object('dry_run', true);
  end if;
  if slot is not null then  -- [local time]
    v_body := v_body || pg_catalog.jsonb_build_object('slot', slot);
  end if;
  if evaluation_date is not null then  -- [local time]
    v_body := v_body || pg_catalog.jsonb_build_object('evaluation_date', pg_catalog.to_char(evaluation_date, 'YYYY-MM-DD'));
  end if;

  -- [sharded fan-out] One signed request per shard, in one transaction: pg_net sends none of them unless all are queued.
  v_base := v_body;
  for k in 1 .. shards loop
    -- Signature v2 over the timestamp, a random nonce, the method, the URL's path and the body's meaning
    -- (scheduler.canonical_request); the function accepts it once, within 300 s.
    v_ts := pg_catalog.floor(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()))::bigint::text;
    v_nonce := pg_catalog.encode(extensions.gen_random_bytes(16), 'hex');
    v_path := coalesce(nullif(pg_catalog.substring(v_url, '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*([^?#]*)'), ''), '/');
    v_body := v_base;
    if shards > 1 then
      v_body := v_body || pg_catalog.jsonb_build_object('shard', k::text || '/' || shards::text);
    end if;
    v_headers := pg_catalog.jsonb_build_object(
        'Content-Type', 'application/json',
        'X-Scheduler-Timestamp', v_ts,
        'X-Scheduler-Nonce', v_nonce,
        'X-Scheduler-Signature', scheduler.request_signature(v_secret, v_ts, v_nonce, 'POST', v_path, v_body));

    v_id := net.http_post(
      url := v_url,
      body := v_body,
      params := '{}'::jsonb,
      headers := v_headers,
      timeout_milliseconds := c_timeout_ms);

    -- Exactly what was queued: one row, this URL, method, headers, body and timeout. pg_net stores the URL as
    -- curl normalises it (http://host becomes http://host/): compare with its own normalisation.
    v_queued_url := v_url;
    if pg_catalog.to_regprocedure('net._encode_url_with_params_array(text, text[])') is not null then
      v_queued_url := net._encode_url_with_params_array(v_url, '{}'::text[]);
    end if;
    select pg_catalog.count(*) = 1
           and pg_catalog.bool_and(q.method::text = 'POST' and q.url = v_queued_url and q.headers = v_headers
                                   and q.body = pg_catalog.convert_to(v_body::text, 'UTF8')
                                   and q.timeout_milliseconds = c_timeout_ms)
    into v_exact
    from net.http_request_queue q where q.id = v_id;
    if not coalesce(v_exact, false) then
      raise exception 'scheduler.invoke: request % in pg_net''s queue is not the request it queued; nothing was sent', v_id
        using errcode = '55000', hint = 'Something rewrote pg_net''s queue while the request was being queued.';
    end if;

    -- The date too, so that scheduler.partial_parts() can tell which date a request (a continuation) ran.
    insert into scheduler.invocations (request_id, trigger, job, scenarios, dry_run, shard, slot, evaluation_date)
    values (v_id, case when job is null then 'manual' else 'cron:' || job end, job, scenarios, coalesce(dry_run, false),
            v_body ->> 'shard', v_body ->> 'slot', evaluation_date);
    v_first := coalesce(v_first, v_id);
  end loop;
  return v_first;

end
$_$;

COMMENT ON FUNCTION scheduler.invoke(scenarios text[], job text, dry_run boolean, shards integer, slot text, evaluation_date date) IS 'Queues a signed POST to the scenario scheduler function (URL and secret from Vault), one per shard (all or none), optionally for one slot and date; returns the first pg_net request id and records each in scheduler.invocations. Cron jobs pass their job name; without one the call is recorded as manual:<role>. Refuses while pg_net''s tables carry unexpected triggers.';

REVOKE ALL ON FUNCTION scheduler.invoke(scenarios text[], job text, dry_run boolean, shards integer, slot text, evaluation_date date) FROM PUBLIC;

-- scheduler/functions/part_done.sql
CREATE OR REPLACE FUNCTION scheduler.part_done(p_date date, p_slot text, p_scenarios text[]) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  -- As scheduler.slot_done, for the scenarios a request named (null: every enabled one). A scenario disabled
  -- since is not waited for: the function would not evaluate it.
  select not exists (
    select 1 from scheduler.enabled_scenarios() e
    where (p_scenarios is null or e.scenario = any (p_scenarios))
      and not scheduler.layout_done(p_date, e.scenario, '')
      and not scheduler.layout_done(p_date, e.scenario, p_slot))
$$;

COMMENT ON FUNCTION scheduler.part_done(p_date date, p_slot text, p_scenarios text[]) IS 'Whether a date is complete for a slot ('''': the whole project) and the scenarios a request named (null: every enabled scenario), in any shard layout.';

REVOKE ALL ON FUNCTION scheduler.part_done(p_date date, p_slot text, p_scenarios text[]) FROM PUBLIC;

-- scheduler/functions/request_states.sql
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

-- scheduler/functions/scenario_set.sql
CREATE OR REPLACE FUNCTION scheduler.scenario_set(p_scenarios jsonb) RETURNS text[]
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  -- A request's scenarios as a set (sorted, once each), null for "every enabled scenario": a run records
  -- them as JSON (null, absent or []), an invocation as text[] (null); both must compare equal.
  select case when p_scenarios is null or pg_catalog.jsonb_typeof(p_scenarios) <> 'array'
                   or pg_catalog.jsonb_array_length(p_scenarios) = 0 then null
              else array(select distinct e from pg_catalog.jsonb_array_elements_text(p_scenarios) e order by e) end
$$;

COMMENT ON FUNCTION scheduler.scenario_set(p_scenarios jsonb) IS 'A request''s scenarios (JSON) as a sorted set; null for every enabled scenario.';

REVOKE ALL ON FUNCTION scheduler.scenario_set(p_scenarios jsonb) FROM PUBLIC;

-- scheduler/functions/schedule_continue.sql
CREATE OR REPLACE FUNCTION scheduler.schedule_continue(p_schedule text DEFAULT '* * * * *'::text) RETURNS TABLE(jobname text, schedule text, command text, active boolean)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $_$
begin
  perform scheduler.require_cron();
  -- Named like the watchdog and retention jobs, not scenario-scheduler-*: it starts no run of its own, so
  -- it is not one of the schedules scheduler.cron_jobs() lists and schedule_daily/hourly/split replace.
  return query execute
    'select j.jobname::text, j.schedule::text, j.command::text, j.active from cron.job j
     where j.jobid = cron.schedule($1, $2, $3)'
    using 'scheduler-continue', p_schedule, 'select scheduler.continue_partial()';
end
$_$;

COMMENT ON FUNCTION scheduler.schedule_continue(p_schedule text) IS 'Schedules (or reschedules) the cron job scheduler-continue, which continues partial runs (scheduler.continue_partial), every minute by default.';

REVOKE ALL ON FUNCTION scheduler.schedule_continue(p_schedule text) FROM PUBLIC;

-- scheduler/functions/partial_parts.sql
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

-- The watchdog's run_partial says whether the continue job was there to resume the run.
-- scheduler/functions/continue_job_active.sql
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

-- scheduler/functions/findings_core.sql
CREATE OR REPLACE FUNCTION scheduler.findings_core(p_now timestamp with time zone DEFAULT now()) RETURNS TABLE(problem text, cause text, detail text, since timestamp with time zone)
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $_$
declare
  s         scheduler.ops_settings;
  v_today   date;
  v_missing text[];
  v_late    text[] := '{}'::text[];  -- [lint] typed
  v_root    boolean := false;  -- a finding that explains a missing or partial run: none is expected
  r         record;
begin
  select * into s from scheduler.ops_settings;
  v_today := (p_now at time zone s.time_zone)::date;

  -- Every enabled scenario needs an active job. It does not explain a missed run of the scenarios that
  -- have one (they are expected at their jobs' times), so it does not hold back run_missing for them.
  v_missing := array(select c.scenario from scheduler.scenario_schedule(v_today) c where c.jobs = '{}');
  if v_missing <> '{}' then
    problem := 'not_scheduled';
    detail := case when pg_catalog.to_regclass('cron.job') is null
                then format('pg_cron is not installed in database %s: nothing calls the function', pg_catalog.current_database())
                else format('no active cron job runs %s (removed or paused); see select * from scheduler.cron_jobs()',
                            pg_catalog.array_to_string(v_missing, ', '))
              end;
    cause := pg_catalog.array_to_string(v_missing, ', ');
    since := null;
    return next;
  end if;

  -- A trigger on pg_net's tables other than the scheduler's guards: scheduler.invoke() refuses to queue while
  -- it is there, so nothing runs, and only the tables' owner can drop it. Read from the catalog, so it is
  -- found before any call too.
  for r in select * from scheduler.foreign_net_trigger_list() f loop
    problem := 'foreign_trigger';
    cause := r.trigger_name || ' on ' || r.table_name;
    detail := pg_catalog.format('trigger %s on %s (function %s), on a table owned by %s: scheduler.invoke() refuses to queue while it is there, so nothing runs. Neither postgres nor the function role can drop it: ask the owner of schema net (%s; on hosted Supabase the platform''s support) to run: drop trigger %s on %s; then find out who created it and rotate the function''s secret',
      r.trigger_name, r.table_name, r.function_name, r.owner, r.owner, r.trigger_name, r.table_name);
    since := null;
    v_root := true;
    return next;
  end loop;

  -- The Vault entries scheduler.invoke() reads (names only; values are never read out).
  if pg_catalog.to_regclass('vault.decrypted_secrets') is null then
    v_missing := array['Supabase Vault (extension supabase_vault)'];
  else
    execute $q$select array(select x from unnest(array['scenario_scheduler_url', 'scenario_scheduler_secret']) x
                where not exists (select 1 from vault.decrypted_secrets v
                                  where v.name = x and coalesce(v.decrypted_secret, '') <> ''))$q$
      into v_missing;
  end if;
  if v_missing <> '{}' then
    problem := 'vault_entry_missing';
    cause := pg_catalog.array_to_string(v_missing, ', ');
    detail := format('missing or empty in Vault: %s; scheduler.invoke() cannot queue the call', cause);
    since := null;
    v_root := true;
    return next;
  else
    -- Failed runs of the scheduler's jobs since invoke() last worked, one per cause (the Vault case above
    -- explains its own failures).
    for r in select * from scheduler.invoke_failures(p_now) f loop
      problem := 'invoke_failed';
      cause := r.cause;
      detail := format('%s failed run(s) of the scheduler''s cron jobs since scheduler.invoke() last worked; last: %s', r.failures, r.cause);
      since := r.last_at;
      v_root := true;
      return next;
    end loop;
  end if;

  -- pg_net's answers. A lost request does not explain a missing run by itself: the run is still expected.
  for r in select * from scheduler.request_findings(p_now) f loop
    problem := r.problem;
    cause := r.cause;
    detail := r.detail;
    since := r.since;
    v_root := v_root or r.problem <> 'request_lost';
    return next;
  end loop;

  if v_root then
    return;
  end if;
  -- Today's evaluation: complete after the last firing plus grace; started after the first firing plus grace.
  for r in
    select c.scenario, c.first_fire, c.last_fire
    from scheduler.scenario_schedule(v_today) c
    left join scheduler.checkpoints cp on cp.evaluation_date = v_today and cp.scenario = c.scenario
    where c.first_fire is not null and not coalesce(cp.done, false)
      and p_now >= c.first_fire + pg_catalog.make_interval(mins => s.grace_minutes)
  loop
    if not exists (select 1 from scheduler.checkpoints cp where cp.evaluation_date = v_today)
       and not exists (select 1 from scheduler.runs u where u.evaluation_date = v_today and not u.dry_run) then
      v_late := v_late || ('missing:' || r.scenario);
    elsif p_now >= r.last_fire + pg_catalog.make_interval(mins => s.grace_minutes) then
      v_late := v_late || ('partial:' || r.scenario);
    end if;
  end loop;
  if exists (select 1 from pg_catalog.unnest(v_late) x where x like 'missing:%') then
    problem := 'run_missing';
    cause := (select pg_catalog.string_agg(pg_catalog.substr(x, 9), ', ') from pg_catalog.unnest(v_late) x where x like 'missing:%');
    detail := format('no run evaluated %s on %s by the expected time plus %s min', cause, v_today, s.grace_minutes);
    since := null;
    return next;
  elsif exists (select 1 from pg_catalog.unnest(v_late) x where x like 'partial:%') then
    problem := 'run_partial';
    cause := (select pg_catalog.string_agg(pg_catalog.substr(x, 9), ', ') from pg_catalog.unnest(v_late) x where x like 'partial:%');
    -- What should have resumed it: the continue job (it stopped: select * from scheduler.partial_parts()
    -- says why), else the catch-up job.
    detail := format('today''s run left %s incomplete', cause) ||
      case when scheduler.continue_job_active()
        then ' although the continue job (scheduler-continue) runs: select * from scheduler.partial_parts(); says why it stopped (failing: the function''s answers failed twice in a row; bound: ops_settings.continue_max continuations)'
        when exists (select 1 from scheduler.job_schedule(v_today) j where j.active and j.jobname = 'scenario-scheduler-catch-up')
        then ' after the catch-up job''s last call'
        else ' and neither the continue job (select * from scheduler.schedule_continue()) nor a catch-up job (select * from scheduler.schedule_catch_up()) is scheduled' end;
    since := null;
    return next;
  end if;
end
$_$;

COMMENT ON FUNCTION scheduler.findings_core(p_now timestamp with time zone) IS 'scheduler.findings without the source contract and the per-slot run_missing: the jobs, pg_net''s tables, Vault, failed cron runs, the requests'' outcomes, and today''s runs.';

REVOKE ALL ON FUNCTION scheduler.findings_core(p_now timestamp with time zone) FROM PUBLIC;

-- The job, beside the daily job, where pg_cron runs in this database. Static SQL on cron.job would fail to
-- plan where pg_cron is missing: the check runs through execute.
do $$
declare
  v_exists boolean;
begin
  if pg_catalog.to_regclass('cron.job') is null then
    raise notice 'pg_cron does not run in database % (cron.database_name): scheduler-continue is not scheduled, and a partial run waits for the next call of its schedule. Where pg_cron runs: select * from scheduler.schedule_continue();',
      pg_catalog.current_database();
    return;
  end if;
  execute 'select exists (select 1 from cron.job where jobname = $1)' into v_exists using 'scheduler-continue';
  if not v_exists then
    perform scheduler.schedule_continue();
  end if;
end
$$;
