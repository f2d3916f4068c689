-- pg_net's queue as an attack surface, and scheduler.invoke() hardened against it (docs/security.md).
--
-- pg_net grants every privilege on net.http_request_queue and net._http_response to PUBLIC, TRIGGER
-- included, and EXECUTE on net.http_post to PUBLIC. On hosted Supabase an administrative role owns net, so
-- the role that applies these migrations (postgres) cannot revoke any of it. The defences therefore do not
-- depend on owning net:
-- * Guard triggers on pg_net's two tables refuse INSERT, UPDATE, DELETE and TRUNCATE from any session whose
--   session user is a member of scenario_scheduler (the function's role and its login roles): that role can
--   neither queue a request (net.http_post is SECURITY INVOKER: its insert runs as the caller) nor change,
--   drop or answer one. pg_net's worker and scheduler.invoke() (as its owner) are not affected. Creating a
--   trigger needs only pg_net's TRIGGER grant, so postgres can add them to tables it does not own.
-- * scheduler.invoke() locks both tables (ROW EXCLUSIVE: CREATE TRIGGER waits until invoke() commits),
--   re-creates its guards if they are gone (an upgrade of pg_net recreates its tables), refuses to queue
--   while either table carries any other trigger (a trigger there runs with the rights of whoever writes
--   the table: invoke() reads Vault), and checks after the insert that the queued row is exactly the
--   request it queued.
-- * Where the migration role owns net or is a superuser (a self-hosted or local server), it also revokes
--   what nobody needs from PUBLIC: TRIGGER, TRUNCATE and REFERENCES on pg_net's tables, and EXECUTE on the
--   net.http_* functions (granted back to the migration role and Supabase's API roles, as Supabase does).
--   Elsewhere a NOTICE says so.
-- Safe to apply twice, with and without pg_net.

-- The guard. SECURITY INVOKER: it runs as whoever writes the table; it looks at the session user, which a
-- SECURITY DEFINER function does not change. A superuser is never refused (pg_has_role is true for a
-- superuser and any role, hence the explicit check).
create or replace function scheduler.net_guard()
returns trigger
language plpgsql set search_path = ''
as $$
begin
  if pg_catalog.to_regrole('scenario_scheduler') is not null
     and exists (select 1 from pg_catalog.pg_roles r where r.rolname = session_user and not r.rolsuper)
     and pg_catalog.pg_has_role(session_user, 'scenario_scheduler', 'MEMBER') then
    raise exception 'scheduler: role % (scenario_scheduler) may not % on %.%',
      session_user, tg_op, tg_table_schema, tg_table_name
      using errcode = '42501',
            hint = 'The scheduler function''s database role has no business with pg_net''s queue.';
  end if;
  if tg_level = 'STATEMENT' then
    return null;
  elsif tg_op = 'DELETE' then
    return old;
  end if;
  return new;
end
$$;
comment on function scheduler.net_guard() is
  'Trigger on pg_net''s tables: refuses writes from sessions of the scheduler function''s role.';
revoke all on function scheduler.net_guard() from public;

-- Creates the guard triggers on pg_net's tables where they are missing. Returns how many it created.
-- Called by this migration and by every scheduler.invoke(); run it after enabling pg_net on a database
-- that was migrated before.
create or replace function scheduler.ensure_net_guard()
returns integer
language plpgsql set search_path = ''
as $$
declare
  t regclass;
  n integer := 0;
begin
  foreach t in array array[pg_catalog.to_regclass('net.http_request_queue'), pg_catalog.to_regclass('net._http_response')] loop
    continue when t is null;
    if not exists (select 1 from pg_catalog.pg_trigger g where g.tgrelid = t and g.tgname = 'scheduler_guard') then
      execute pg_catalog.format('create trigger scheduler_guard before insert or update or delete on %s
                                 for each row execute function scheduler.net_guard()', t);
      n := n + 1;
    end if;
    if not exists (select 1 from pg_catalog.pg_trigger g where g.tgrelid = t and g.tgname = 'scheduler_guard_truncate') then
      execute pg_catalog.format('create trigger scheduler_guard_truncate before truncate on %s
                                 for each statement execute function scheduler.net_guard()', t);
      n := n + 1;
    end if;
  end loop;
  return n;
end
$$;
comment on function scheduler.ensure_net_guard() is
  'Creates the scheduler''s guard triggers on pg_net''s tables where missing; returns how many it created.';
revoke all on function scheduler.ensure_net_guard() from public;

-- Triggers on pg_net's tables other than the scheduler's guards, as "name on table", or null.
create or replace function scheduler.foreign_net_triggers()
returns text
language sql stable set search_path = ''
as $$
  select pg_catalog.string_agg(pg_catalog.format('%I on %s', g.tgname, g.tgrelid::regclass), ', ' order by g.tgname)
  from pg_catalog.pg_trigger g
  where g.tgrelid in (pg_catalog.to_regclass('net.http_request_queue'), pg_catalog.to_regclass('net._http_response'))
    and not g.tgisinternal
    and not (g.tgname in ('scheduler_guard', 'scheduler_guard_truncate')
             and g.tgfoid = 'scheduler.net_guard()'::pg_catalog.regprocedure)
$$;
revoke all on function scheduler.foreign_net_triggers() from public;

do $$
declare
  v_owner text;
  r record;
begin
  if pg_catalog.to_regclass('net.http_request_queue') is null then
    raise notice 'pg_net is not installed here: no guard triggers yet (scheduler.invoke() creates them, or run select scheduler.ensure_net_guard() after enabling pg_net)';
    return;
  end if;
  begin
    perform scheduler.ensure_net_guard();
  exception when insufficient_privilege then
    raise notice 'cannot create the guard triggers on pg_net''s tables (%); scheduler.invoke() will refuse to queue until they exist', sqlerrm;
  end;

  select pg_catalog.pg_get_userbyid(n.nspowner) into v_owner from pg_catalog.pg_namespace n where n.nspname = 'net';
  if not pg_catalog.pg_has_role(current_user, (select n.nspowner from pg_catalog.pg_namespace n where n.nspname = 'net'), 'USAGE') then
    raise notice 'schema net belongs to %: its grants to PUBLIC (TRIGGER on its tables, EXECUTE on net.http_post) stay; the guard triggers and scheduler.invoke()''s checks are the defence', v_owner;
    return;
  end if;
  revoke trigger, truncate, references on all tables in schema net from public;
  for r in select p.oid::regprocedure as f from pg_catalog.pg_proc p
           where p.pronamespace = 'net'::regnamespace and p.proname in ('http_get', 'http_post', 'http_delete') loop
    execute pg_catalog.format('revoke execute on function %s from public', r.f);
    execute pg_catalog.format('grant execute on function %s to %I', r.f, current_user);
    if pg_catalog.to_regrole('service_role') is not null then
      execute pg_catalog.format('grant execute on function %s to anon, authenticated, service_role', r.f);
    end if;
  end loop;
end
$$;

-- Queues one signed POST to the scheduler function and returns pg_net's request id (look it up in
-- net._http_response to see what the function answered). scenarios limits the run (null: every enabled
-- scenario); job names the cron job in the body, so the report says trigger "cron:<job>".
-- Before it reads Vault it locks pg_net's tables against new triggers and refuses to go on while they
-- carry a trigger it does not expect; after queueing it checks the queued row (see the top of this file).
--
-- Vault secrets (create them once per project, see docs/supabase.md):
--   scenario_scheduler_url     the function's URL
--   scenario_scheduler_secret  the shared secret (SCHEDULER_SECRET of the function)
create or replace function scheduler.invoke(
  scenarios text[] default null, job text default 'scenario-scheduler-daily')
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
  v_body    jsonb;
  v_headers jsonb;
  v_foreign text;
  v_id      bigint;
  v_exact   boolean;
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

  -- v1=<hex HMAC-SHA256(key = secret, message = 'v1:' || unix seconds)>. pg_net re-serialises the body,
  -- so the signature covers the timestamp only; the function accepts it for a few minutes.
  v_ts := pg_catalog.floor(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()))::bigint::text;
  v_body := pg_catalog.jsonb_build_object('trigger', 'cron', 'job', coalesce(job, 'scenario-scheduler-daily'));
  if scenarios is not null then
    v_body := v_body || pg_catalog.jsonb_build_object('scenarios', pg_catalog.to_jsonb(scenarios));
  end if;
  v_headers := pg_catalog.jsonb_build_object(
      'Content-Type', 'application/json',
      'X-Scheduler-Timestamp', v_ts,
      'X-Scheduler-Signature',
        'v1=' || pg_catalog.encode(extensions.hmac('v1:' || v_ts, v_secret, 'sha256'), 'hex'));

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
  return v_id;
end
$$;
comment on function scheduler.invoke(text[], text) is
  'Queues a signed POST to the scenario scheduler function (URL and secret from Vault); returns the pg_net request id. Refuses while pg_net''s tables carry unexpected triggers.';
revoke all on function scheduler.invoke(text[], text) from public;
