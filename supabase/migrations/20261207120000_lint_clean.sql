-- `supabase db lint --level warning` (plpgsql_check) finds nothing in the scheduler's functions: four
-- functions are redefined as they stand, each with the one change that the lint asked for and nothing else.
--   scheduler.cron_field           v_out   integer[] := '{}'           ->  '{}'::integer[]
--   scheduler.watch_findings_core  v_late  text[] := '{}'              ->  '{}'::text[]
--   scheduler.watchdog             v_seen  text[] := '{}'              ->  '{}'::text[]
--   scheduler.invoke               the unused declaration "k integer" goes: the loop "for k in 1 .. shards"
--                                  declares its own k
-- An untyped '{}' is a text literal that PL/pgSQL casts at run time ("target type is different type than
-- source type"); the typed literal is the same value. Current definitions copied from:
-- 20261201110100_scheduler_schedule_facts.sql (cron_field), 20261201110200_scheduler_watchdog.sql
-- (watch_findings, renamed watch_findings_core by 20261201135000_source_contract.sql; watchdog) and
-- 20261201160200_local_time_invoke.sql (invoke). create or replace keeps their owners, grants and comments.
-- Safe to apply twice.

-- The values one field of a cron expression allows (*, n, a-b, */s, a-b/s and comma lists), or null when the
-- field is anything else (names, L, W, #...).
create or replace function scheduler.cron_field(p_field text, p_lo integer, p_hi integer)
returns integer[]
language plpgsql immutable set search_path = ''
as $$
declare
  v_out   integer[] := '{}'::integer[];  -- [lint] typed
  v_part  text;
  v_m     text[];
  v_a     integer;
  v_b     integer;
  v_step  integer;
begin
  foreach v_part in array pg_catalog.string_to_array(p_field, ',') loop
    v_m := pg_catalog.regexp_match(v_part, '^(\*|(\d+)(?:-(\d+))?)(?:/(\d+))?$');
    if v_m is null then
      return null;
    end if;
    if v_m[1] = '*' then
      v_a := p_lo; v_b := p_hi;
    else
      v_a := v_m[2]::integer;
      v_b := coalesce(v_m[3]::integer, case when v_m[4] is null then v_a else p_hi end);
    end if;
    v_step := coalesce(v_m[4]::integer, 1);
    if v_a < p_lo or v_b > p_hi or v_a > v_b or v_step < 1 then
      return null;
    end if;
    v_out := v_out || array(select pg_catalog.generate_series(v_a, v_b, v_step));
  end loop;
  return array(select distinct x from pg_catalog.unnest(v_out) x order by x);
end
$$;

-- The findings of 20261201110200_scheduler_watchdog.sql, which scheduler.watch_findings completes.
create or replace function scheduler.watch_findings_core(p_now timestamptz default now())
returns table (problem text, detail text, since timestamptz)
language plpgsql stable set search_path = ''
as $$
declare
  s         scheduler.ops_settings;
  v_today   date;
  v_day0    timestamptz;
  v_missing text[];
  v_late    text[] := '{}'::text[];  -- [lint] typed
  v_root    boolean := false;
  v_last_ok timestamptz;
  r         record;
begin
  select * into s from scheduler.ops_settings;
  v_today := (p_now at time zone s.time_zone)::date;
  v_day0 := v_today::timestamp at time zone s.time_zone;

  -- Every enabled scenario needs an active job.
  v_missing := array(select c.scenario from scheduler.scenario_schedule(v_today) c where c.jobs = '{}');
  if v_missing <> '{}' then
    problem := 'not_scheduled';
    detail := case when pg_catalog.to_regclass('cron.job') is null
                then format('pg_cron is not installed in database %s: nothing calls the function', pg_catalog.current_database())
                else format('no active cron job runs %s (removed or paused); see select * from scheduler.cron_jobs()',
                            pg_catalog.array_to_string(v_missing, ', '))
              end;
    since := null;
    v_root := true;
    return next;
  end if;

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
    detail := format('missing or empty in Vault: %s; scheduler.invoke() cannot queue the call',
                     pg_catalog.array_to_string(v_missing, ', '));
    since := null;
    v_root := true;
    return next;
  elsif pg_catalog.to_regclass('cron.job_run_details') is not null then
    -- Failed runs of the scheduler's jobs today (the Vault case above explains its own failures).
    for r in execute
      $q$select count(*) as n, max(d.end_time) as at,
                (array_agg(pg_catalog.left(d.return_message, 300) order by d.end_time desc))[1] as msg
         from cron.job_run_details d join cron.job j on j.jobid = d.jobid
         where d.status = 'failed' and d.start_time >= $1 and d.start_time <= $2
           and scheduler.job_scenarios(j.command) is not null
         having count(*) > 0$q$ using v_day0, p_now
    loop
      problem := 'invoke_failed';
      detail := format('%s failed run(s) of the scheduler''s cron jobs today; last: %s', r.n, r.msg);
      since := r.at;
      v_root := true;
      return next;
    end loop;
  end if;

  -- pg_net's answers to today's requests after the newest successful one.
  if pg_catalog.to_regclass('net._http_response') is not null then
    execute $q$select max(i.queued_at) from scheduler.invocations i
                join net._http_response r on r.id = i.request_id and r.created between i.queued_at - interval '1 minute' and i.queued_at + interval '6 hours'
                where i.queued_at >= $1 and r.status_code between 200 and 299$q$
      into v_last_ok using v_day0;
    for r in execute
      $q$select k.kind, count(*) as n, max(k.queued_at) as at,
                (array_agg(k.what order by k.queued_at desc))[1] as what
         from (
           select i.queued_at,
                  case when r.id is null then 'no_answer'
                       when r.timed_out then 'timeout'
                       when r.status_code is null then 'unreachable'
                       when r.status_code = 401 then 'unauthorised'
                       else 'http_error' end as kind,
                  case when r.id is null then 'request ' || i.request_id || ' queued at '
                                               || pg_catalog.to_char(i.queued_at at time zone 'UTC', 'HH24:MI') || ' UTC'
                       when r.status_code is null then pg_catalog.left(coalesce(r.error_msg, 'no status'), 200)
                       else 'HTTP ' || r.status_code end as what
           from scheduler.invocations i
           left join net._http_response r on r.id = i.request_id and r.created between i.queued_at - interval '1 minute' and i.queued_at + interval '6 hours'
           where i.queued_at >= greatest($1, coalesce($2, $1), $3 - interval '5 hours')
             and i.queued_at > coalesce($2, '-infinity')
             and i.queued_at <= $3
             and (r.id is not null or i.queued_at <= $3 - pg_catalog.make_interval(mins => $4))
             and (r.id is null or r.status_code is null or r.timed_out or r.status_code not between 200 and 299)
         ) k
         group by k.kind order by k.kind$q$ using v_day0, v_last_ok, p_now, s.answer_wait_minutes
    loop
      problem := r.kind;
      detail := format('%s request(s) since the last success; last: %s', r.n, r.what) ||
        case r.kind
          when 'unauthorised' then ': the Vault secret does not match the function''s secret'
          when 'unreachable' then ': the URL in Vault is unreachable from the database'
          when 'no_answer' then ': pg_net''s worker did not answer (is it running, and does pg_net.database_name name this database?)'
          when 'timeout' then ': the function did not answer within pg_net''s timeout'
          else '' end;
      since := r.at;
      v_root := true;
      return next;
    end loop;
  end if;

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
    detail := format('no run evaluated %s on %s by the expected time plus %s min',
      (select pg_catalog.string_agg(pg_catalog.substr(x, 9), ', ') from pg_catalog.unnest(v_late) x where x like 'missing:%'),
      v_today, s.grace_minutes);
    since := null;
    return next;
  elsif exists (select 1 from pg_catalog.unnest(v_late) x where x like 'partial:%') then
    problem := 'run_partial';
    detail := format('today''s run left %s incomplete', (select pg_catalog.string_agg(pg_catalog.substr(x, 9), ', ')
                     from pg_catalog.unnest(v_late) x where x like 'partial:%')) ||
      case when exists (select 1 from scheduler.job_schedule(v_today) j where j.active and j.jobname = 'scenario-scheduler-catch-up')
        then ' after the catch-up job''s last call'
        else ' and no catch-up job is scheduled (select * from scheduler.schedule_catch_up())' end;
    since := null;
    return next;
  end if;
end
$$;

-- Records p_now's findings in scheduler.alerts, posts the new ones to the alert URL in Vault (if any), resolves
-- today's open alerts that are gone, and returns the alerts raised by this call (a problem already recorded
-- for the day is not raised, nor posted, again).
create or replace function scheduler.watchdog(p_now timestamptz default now())
returns setof scheduler.alerts
language plpgsql volatile set search_path = ''
as $$
declare
  v_today date := (p_now at time zone (select s.time_zone from scheduler.ops_settings s))::date;
  v_url   text;
  v_seen  text[] := '{}'::text[];  -- [lint] typed
  v_id    bigint;
  v_new   boolean;
  v_req   bigint;
  f       record;
  a       scheduler.alerts;
begin
  if pg_catalog.to_regclass('vault.decrypted_secrets') is not null then
    execute $q$select s.decrypted_secret from vault.decrypted_secrets s where s.name = 'scenario_scheduler_alert_url'
                order by s.created_at desc limit 1$q$ into v_url;
  end if;

  for f in select * from scheduler.watch_findings(p_now) loop
    v_seen := v_seen || f.problem;
    insert into scheduler.alerts as al (day, problem, detail, since, first_seen, last_seen)
    values (v_today, f.problem, f.detail, f.since, p_now, p_now)
    on conflict on constraint alerts_one_per_day do update
      set last_seen = excluded.last_seen, detail = excluded.detail,
          since = coalesce(excluded.since, al.since), resolved_at = null
    returning al.id, (al.xmax = 0) into v_id, v_new;
    continue when not v_new;
    if v_url is not null and v_url <> '' and pg_catalog.to_regnamespace('net') is not null then
      execute 'select net.http_post(url := $1, body := $2, headers := $3, timeout_milliseconds := 10000)'
        into v_req
        using v_url,
              pg_catalog.jsonb_build_object('text', format('Scenario scheduler (database %s), %s: %s - %s. See docs/operations.md#%s',
                pg_catalog.current_database(), v_today, f.problem, f.detail, f.problem)),
              '{"Content-Type": "application/json"}'::jsonb;
      update scheduler.alerts al set notify_request_id = v_req where al.id = v_id;
    end if;
    select * into a from scheduler.alerts al where al.id = v_id;
    return next a;
  end loop;

  -- State problems are resolved when no longer seen; event problems (since is set) when a request queued after
  -- their newest evidence got a 2xx answer.
  update scheduler.alerts al set resolved_at = p_now
  where al.day = v_today and al.resolved_at is null and not (al.problem = any (v_seen))
    and (al.since is null or (pg_catalog.to_regclass('net._http_response') is not null
                              and scheduler.answered_ok_after(al.since)));
end
$$;

-- scheduler.invoke(), as 20261201160200_local_time_invoke.sql defines it.
create or replace function scheduler.invoke(
  scenarios text[] default null, job text default null, dry_run boolean default false, shards integer default 1,
  slot text default null, evaluation_date date default null)  -- [local time] slot, evaluation_date
returns bigint
language plpgsql volatile security definer set search_path = ''
as $$
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

    insert into scheduler.invocations (request_id, trigger, job, scenarios, dry_run, shard, slot)  -- [local time] slot
    values (v_id, case when job is null then 'manual' else 'cron:' || job end, job, scenarios, coalesce(dry_run, false),
            v_body ->> 'shard', v_body ->> 'slot');
    v_first := coalesce(v_first, v_id);
  end loop;
  return v_first;

end
$$;
