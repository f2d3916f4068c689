-- Least privilege that holds for the function's role (docs/security.md):
-- * No TEMP and no CREATE anywhere. PUBLIC has TEMP on every database by default, and a revoke from one
--   role cannot take away what PUBLIC has, so TEMP is revoked from PUBLIC on this database and granted back
--   to the migration role and Supabase's API roles (anon, authenticated, service_role). Effect: a role
--   created later has no TEMP here unless granted (grant temporary on database ... to ...). Only the
--   database's owner (or a superuser) can do this; elsewhere a NOTICE says so.
-- * Functions the migration role creates later, in any schema, are not executable by PUBLIC. A per-schema
--   "alter default privileges in schema ... revoke" cannot remove the global default (EXECUTE to PUBLIC),
--   so the revoke is global for the migration role. Effect: such a function is executable by its owner
--   and by whoever gets an explicit grant (Supabase's own default privileges still grant functions in
--   schema public to anon, authenticated and service_role).
-- * The SECURITY DEFINER functions the function role may execute check their inputs as the HTTP contract
--   does (engine/request.go): evaluation dates in the window (see scheduler.check_date), bounded sizes,
--   sane batch sizes and known scenario names. Each is wrapped: the existing function is renamed
--   <name>_unchecked (only its owner executes it) and <name> checks, then calls it; the store calls the
--   same names as before. evaluate_batch is redefined whole instead (its body names itself), in
--   20261201100200_evaluate_batch_checked.sql.
-- * The four search_path-mutable functions (scheduler.effective_config and the *_candidates) stay inlinable;
--   the reason is written next to them below.
-- Safe to apply twice.

-- TEMP: revoked from PUBLIC where this role owns the database.
do $$
declare
  r text;
begin
  if not pg_catalog.pg_has_role(current_user,
       (select d.datdba from pg_catalog.pg_database d where d.datname = pg_catalog.current_database()), 'USAGE') then
    raise notice 'database % belongs to another role: PUBLIC keeps TEMP on it, so the function role can create temporary objects. Ask its owner to run: revoke temporary on database % from public;',
      pg_catalog.current_database(), pg_catalog.current_database();
    return;
  end if;
  execute pg_catalog.format('revoke temporary on database %I from public', pg_catalog.current_database());
  for r in select rolname from pg_catalog.pg_roles
           where rolname in (current_user, 'postgres', 'anon', 'authenticated', 'service_role') loop
    execute pg_catalog.format('grant temporary on database %I to %I', pg_catalog.current_database(), r);
  end loop;
end
$$;
-- CREATE: nowhere for the function role (schema public has none for PUBLIC since PostgreSQL 15; say so).
revoke create on schema public from public;
revoke create on schema scheduler from public;
do $$
begin
  execute pg_catalog.format('revoke create, temporary on database %I from scenario_scheduler', pg_catalog.current_database());
end
$$;

-- Default privileges: global for the migration role (see the top of this file).
alter default privileges revoke execute on functions from public;

-- The four functions without a fixed search_path (Supabase's lint function_search_path_mutable names them)
-- keep it that way ON PURPOSE: a function with a SET clause is never inlined, and the planner must inline
-- these plain SQL functions into evaluate_batch's one statement per batch (infra/benchdata/plan_test.go fails
-- on a function scan of a *_candidates function; with search_path set, each batch became a hash join over a
-- materialised function scan). What the lint guards against, a caller's search_path changing what a
-- function resolves to, does not reach them: they are SECURITY INVOKER (no rights of their own), in schema
-- scheduler (not exposed through the Data API), executable by nobody but their owner, every name in them is
-- schema-qualified, and inlined they run under evaluate_batch's search_path = ''. supabase/lint_test.go
-- holds them to exactly these properties.
comment on function scheduler.effective_config(text) is
  'No fixed search_path on purpose: inlined into evaluate_batch (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';
comment on function scheduler.inactivity_candidates(date, uuid, uuid) is
  'No fixed search_path on purpose: inlined into evaluate_batch (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';
comment on function scheduler.milestone_candidates(date, uuid, uuid) is
  'No fixed search_path on purpose: inlined into evaluate_batch (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';
comment on function scheduler.certification_candidates(date, uuid, uuid) is
  'No fixed search_path on purpose: inlined into evaluate_batch (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

-- Whether the session belongs to the function role (a login role that is a member of scenario_scheduler),
-- superusers excepted (pg_has_role is true for a superuser and any role).
create or replace function scheduler.caller_is_function_role()
returns boolean
language plpgsql stable set search_path = ''
as $$
begin
  return pg_catalog.to_regrole('scenario_scheduler') is not null
     and exists (select 1 from pg_catalog.pg_roles r where r.rolname = session_user and not r.rolsuper)
     and pg_catalog.pg_has_role(session_user, 'scenario_scheduler', 'MEMBER');
end
$$;
revoke all on function scheduler.caller_is_function_role() from public;

-- An evaluation date from the function role must lie in the HTTP contract's window: engine.MaxPastDays (90)
-- back and engine.MaxFutureDays (1) ahead of today. The engine's today is in its time zone (Europe/Oslo),
-- the database's current_date in the session's (UTC on Supabase): they differ by up to a day, so the window
-- here is one day wider on each side. The owner (benchmarks, backfills) is not limited: it can write the
-- tables directly anyway.
create or replace function scheduler.check_date(p_what text, p_date date)
returns void
language plpgsql stable set search_path = ''
as $$
begin
  if p_date is null then
    raise exception using errcode = '22023', message = pg_catalog.format('%s: a date is required', p_what);
  end if;
  if scheduler.caller_is_function_role()
     and (p_date < current_date - (90 + 1) or p_date > current_date + (1 + 1)) then
    raise exception using errcode = '22023',
      message = pg_catalog.format('%s: date %s is outside the allowed window %s to %s',
                                  p_what, p_date, current_date - (90 + 1), current_date + (1 + 1));
  end if;
end
$$;
revoke all on function scheduler.check_date(text, date) from public;

-- A point in time from the function role (the delivery policy's clock) must lie in the same window.
create or replace function scheduler.check_time(p_what text, p_at timestamptz)
returns void
language plpgsql stable set search_path = ''
as $$
begin
  if p_at is null then
    raise exception using errcode = '22023', message = pg_catalog.format('%s: a time is required', p_what);
  end if;
  if scheduler.caller_is_function_role()
     and (p_at < pg_catalog.now() - interval '91 days' or p_at > pg_catalog.now() + interval '2 days') then
    raise exception using errcode = '22023',
      message = pg_catalog.format('%s: time %s is outside the allowed window', p_what, p_at);
  end if;
end
$$;
revoke all on function scheduler.check_time(text, timestamptz) from public;

-- A scenario must be one the configuration knows (its default row).
create or replace function scheduler.check_scenario(p_what text, p_scenario text)
returns void
language plpgsql stable set search_path = ''
as $$
begin
  if not exists (select 1 from scheduler.scenario_config c where c.scenario = p_scenario and c.organisation_id is null) then
    raise exception using errcode = '22023',
      message = pg_catalog.format('%s: unknown scenario %s', p_what, coalesce(pg_catalog.quote_literal(pg_catalog.left(p_scenario, 64)), 'null'));
  end if;
end
$$;
revoke all on function scheduler.check_scenario(text, text) from public;

-- An integer in [p_min, p_max].
create or replace function scheduler.check_range(p_what text, p_value bigint, p_min bigint, p_max bigint)
returns void
language plpgsql immutable set search_path = ''
as $$
begin
  if p_value is null or p_value < p_min or p_value > p_max then
    raise exception using errcode = '22023',
      message = pg_catalog.format('%s must be between %s and %s, got %s', p_what, p_min, p_max, coalesce(p_value::text, 'null'));
  end if;
end
$$;
revoke all on function scheduler.check_range(text, bigint, bigint, bigint) from public;

-- The existing functions become <name>_unchecked, once.
do $$
declare
  f text;
begin
  foreach f in array array[
    'start_run(uuid, date, text, boolean, jsonb)', 'finish_run(uuid, text, integer, jsonb)',
    'claim_checkpoint(uuid, date, text, integer)', 'release_checkpoint(uuid, date, text)',
    'record_scenario_stats(text, integer, integer)',
    'claim_deliveries(uuid, timestamptz, date, integer, integer, integer)', 'record_deliveries(uuid, jsonb, text[])',
    'delivery_backlog(timestamptz)'] loop
    if pg_catalog.to_regprocedure('scheduler.' || pg_catalog.replace(f, '(', '_unchecked(')) is null then
      execute pg_catalog.format('alter function scheduler.%s rename to %I', f, pg_catalog.split_part(f, '(', 1) || '_unchecked');
    end if;
    execute pg_catalog.format('revoke all on function scheduler.%s from public',
                              pg_catalog.replace(f, '(', '_unchecked('));
    if pg_catalog.to_regrole('scenario_scheduler') is not null then
      execute pg_catalog.format('revoke all on function scheduler.%s from scenario_scheduler',
                                pg_catalog.replace(f, '(', '_unchecked('));
    end if;
  end loop;
end
$$;

create or replace function scheduler.start_run(
  p_run_id uuid, p_date date, p_trigger text, p_dry_run boolean, p_request jsonb)
returns void
language plpgsql security definer set search_path = ''
as $$
begin
  perform scheduler.check_date('start_run', p_date);
  perform scheduler.check_range('start_run: trigger length', pg_catalog.length(p_trigger), 1, 200);
  -- The HTTP contract's body limit (64 KiB).
  perform scheduler.check_range('start_run: request size in bytes',
                                pg_catalog.octet_length(coalesce(p_request, '{}'::jsonb)::text), 0, 65536);
  perform scheduler.start_run_unchecked(p_run_id, p_date, p_trigger, p_dry_run, p_request);
end
$$;

create or replace function scheduler.finish_run(p_run_id uuid, p_status text, p_duration_ms integer, p_report jsonb)
returns void
language plpgsql security definer set search_path = ''
as $$
begin
  perform scheduler.check_range('finish_run: status length', pg_catalog.length(p_status), 1, 32);
  perform scheduler.check_range('finish_run: duration_ms', p_duration_ms, 0, 86400000);
  -- A report lists scenarios and counts: a few KiB. 256 KiB leaves room and bounds what the role can store.
  perform scheduler.check_range('finish_run: report size in bytes',
                                pg_catalog.octet_length(coalesce(p_report, 'null'::jsonb)::text), 0, 262144);
  perform scheduler.finish_run_unchecked(p_run_id, p_status, p_duration_ms, p_report);
end
$$;

create or replace function scheduler.claim_checkpoint(
  p_run_id uuid, p_date date, p_scenario text, p_lease_ms integer)
returns table (outcome text, cursor uuid, evaluated integer, notified integer)
language plpgsql security definer set search_path = ''
as $$
begin
  perform scheduler.check_date('claim_checkpoint', p_date);
  perform scheduler.check_scenario('claim_checkpoint', p_scenario);
  perform scheduler.check_range('claim_checkpoint: lease_ms', p_lease_ms, 0, 3600000);
  return query select * from scheduler.claim_checkpoint_unchecked(p_run_id, p_date, p_scenario, p_lease_ms);
end
$$;

create or replace function scheduler.release_checkpoint(p_run_id uuid, p_date date, p_scenario text)
returns void
language plpgsql security definer set search_path = ''
as $$
begin
  perform scheduler.check_date('release_checkpoint', p_date);
  perform scheduler.check_scenario('release_checkpoint', p_scenario);
  perform scheduler.release_checkpoint_unchecked(p_run_id, p_date, p_scenario);
end
$$;

create or replace function scheduler.record_scenario_stats(p_scenario text, p_evaluated integer, p_duration_ms integer)
returns void
language plpgsql security definer set search_path = ''
as $$
begin
  perform scheduler.check_scenario('record_scenario_stats', p_scenario);
  perform scheduler.check_range('record_scenario_stats: evaluated', p_evaluated, 0, 2147483647);
  perform scheduler.check_range('record_scenario_stats: duration_ms', p_duration_ms, 0, 86400000);
  perform scheduler.record_scenario_stats_unchecked(p_scenario, p_evaluated, p_duration_ms);
end
$$;

-- Delivery claims: at most 10,000 mentors (the engine claims 100), leases up to an hour, up to 100 attempts.
create or replace function scheduler.claim_deliveries(
  p_run_id uuid, p_now timestamptz, p_today date, p_limit integer, p_lease_ms integer, p_max_attempts integer)
returns table (notification_id bigint, disposition text, reason text, user_id uuid, organisation_id uuid,
               scenario text, locale text, full_name text, data jsonb, tokens text[], attempts integer)
language plpgsql security definer set search_path = ''
as $$
begin
  perform scheduler.check_time('claim_deliveries', p_now);
  perform scheduler.check_date('claim_deliveries', p_today);
  perform scheduler.check_range('claim_deliveries: limit', p_limit, 1, 10000);
  perform scheduler.check_range('claim_deliveries: lease_ms', p_lease_ms, 0, 3600000);
  perform scheduler.check_range('claim_deliveries: max_attempts', p_max_attempts, 1, 100);
  return query select * from scheduler.claim_deliveries_unchecked(p_run_id, p_now, p_today, p_limit, p_lease_ms, p_max_attempts);
end
$$;

-- Results: an array of at most 100,000 entries (a claim decides for at most 10,000 mentors), 16 MiB.
create or replace function scheduler.record_deliveries(p_run_id uuid, p_results jsonb, p_disable_tokens text[])
returns integer
language plpgsql security definer set search_path = ''
as $$
begin
  if p_results is not null and pg_catalog.jsonb_typeof(p_results) <> 'array' then
    raise exception using errcode = '22023', message = 'record_deliveries: results must be a JSON array';
  end if;
  perform scheduler.check_range('record_deliveries: results', coalesce(pg_catalog.jsonb_array_length(p_results), 0), 0, 100000);
  perform scheduler.check_range('record_deliveries: results size in bytes',
                                pg_catalog.octet_length(coalesce(p_results, '[]'::jsonb)::text), 0, 16777216);
  perform scheduler.check_range('record_deliveries: tokens to disable',
                                coalesce(pg_catalog.cardinality(p_disable_tokens), 0), 0, 100000);
  return scheduler.record_deliveries_unchecked(p_run_id, p_results, p_disable_tokens);
end
$$;

create or replace function scheduler.delivery_backlog(p_now timestamptz)
returns table (deliverable bigint, waiting bigint)
language plpgsql security definer set search_path = ''
as $$
begin
  perform scheduler.check_time('delivery_backlog', p_now);
  return query select * from scheduler.delivery_backlog_unchecked(p_now);
end
$$;

revoke all on function
  scheduler.start_run(uuid, date, text, boolean, jsonb), scheduler.finish_run(uuid, text, integer, jsonb),
  scheduler.claim_checkpoint(uuid, date, text, integer), scheduler.release_checkpoint(uuid, date, text),
  scheduler.record_scenario_stats(text, integer, integer),
  scheduler.claim_deliveries(uuid, timestamptz, date, integer, integer, integer),
  scheduler.record_deliveries(uuid, jsonb, text[]), scheduler.delivery_backlog(timestamptz)
from public;
grant execute on function
  scheduler.start_run(uuid, date, text, boolean, jsonb), scheduler.finish_run(uuid, text, integer, jsonb),
  scheduler.claim_checkpoint(uuid, date, text, integer), scheduler.release_checkpoint(uuid, date, text),
  scheduler.record_scenario_stats(text, integer, integer),
  scheduler.claim_deliveries(uuid, timestamptz, date, integer, integer, integer),
  scheduler.record_deliveries(uuid, jsonb, text[]), scheduler.delivery_backlog(timestamptz)
to scenario_scheduler;
