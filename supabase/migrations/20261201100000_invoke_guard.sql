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
