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
--   same names as before. evaluate_batch is redefined whole instead (its body names itself).
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

-- Redefined from 20261126090200_scheduler_functions.sql with its inputs checked (it refers to its own
-- name in its body, so it cannot be wrapped by renaming like the others). At most 100,000 mentors a batch
-- (the engine's default maximum is 20,000).
-- Evaluates one keyset batch of up to p_limit active mentors after p_after for one scenario, inserts the
-- notifications and advances the checkpoint, all in the caller's single transaction (one statement).
-- The caller must hold the checkpoint's lease and pass the cursor it read: a run whose lease was taken
-- over, or that lost a race, gets SQLSTATE SC409 and must stop. With p_dry_run nothing is written.
create or replace function scheduler.evaluate_batch(
  p_run_id uuid, p_scenario text, p_date date, p_after uuid, p_limit integer, p_dry_run boolean)
returns table (evaluated integer, candidates integer, notified integer, suppressed_cooldown integer,
               duplicates integer, conflicts integer, next_cursor uuid, done boolean)
language plpgsql security definer set search_path = ''
as $$
#variable_conflict use_column
declare
  v_after uuid := coalesce(p_after, '00000000-0000-0000-0000-000000000000'::uuid);
  v_last  uuid;
  v_fresh integer;
  cp      scheduler.checkpoints;
begin
  -- The caller's inputs (see the top of this file); then the scenarios the dispatch below knows.
  perform scheduler.check_date('evaluate_batch', p_date);
  perform scheduler.check_scenario('evaluate_batch', p_scenario);
  perform scheduler.check_range('evaluate_batch: batch limit', p_limit, 1, 100000);
  if p_scenario not in ('inactivity', 'milestone', 'certification_expiry') then
    raise exception using errcode = '22023', message = format('unknown scenario %L', p_scenario);
  end if;

  if not p_dry_run then
    select * into cp from scheduler.checkpoints c
    where c.evaluation_date = p_date and c.scenario = p_scenario
    for update;
    if not found or cp.lease_owner is distinct from p_run_id then
      raise exception using errcode = 'SC409', message = 'checkpoint lease is not held by this run';
    end if;
    if cp.cursor is distinct from p_after or cp.done then
      raise exception using errcode = 'SC409', message = 'checkpoint moved since it was claimed';
    end if;
  end if;

  select b.id, b.n into v_last, evaluated
  from (
    select m.id, row_number() over (order by m.id)::integer as n
    from public.peer_mentors m
    where m.status = 'active' and m.id > v_after
    order by m.id
    limit p_limit
  ) b
  order by b.n desc
  limit 1;
  evaluated := coalesce(evaluated, 0);

  if evaluated = 0 then
    candidates := 0; notified := 0; suppressed_cooldown := 0; duplicates := 0; conflicts := 0;
    next_cursor := p_after;
    done := true;
  else
    with cand as (
      select * from scheduler.inactivity_candidates(p_date, v_after, v_last) where p_scenario = 'inactivity'
      union all
      select * from scheduler.milestone_candidates(p_date, v_after, v_last) where p_scenario = 'milestone'
      union all
      select * from scheduler.certification_candidates(p_date, v_after, v_last)
      where p_scenario = 'certification_expiry'
    ),
    classified as (
      select c.*,
             dup.hit is not null as is_duplicate,
             cool.hit is not null as in_cooldown
      from cand c
      -- One probe of the unique key per candidate (never a scan of every notification).
      left join lateral (
        select 1 as hit from public.notifications d where d.idempotency_key = c.idempotency_key
      ) dup on true
      left join lateral (
        select 1 as hit
        from public.notifications n
        where c.cooldown_days > 0
          and n.user_id = c.user_id and n.scenario = p_scenario
          and n.cooldown_period && daterange(p_date, p_date + c.cooldown_days)
        limit 1
      ) cool on true
    ),
    ins as (
      insert into public.notifications (user_id, organisation_id, scenario, evaluation_date, idempotency_key,
                                        cooldown_period, priority, data, run_id)
      select c.user_id, c.organisation_id, p_scenario, p_date, c.idempotency_key,
             case when c.cooldown_days > 0 then daterange(p_date, p_date + c.cooldown_days) end,
             c.priority, c.data, p_run_id
      from classified c
      where not p_dry_run and not c.is_duplicate and not c.in_cooldown
      -- A concurrent writer got there first (same key, or a cooldown it opened): skip, never fail.
      on conflict do nothing
      returning 1
    )
    select count(*)::integer,
           (count(*) filter (where c.is_duplicate))::integer,
           (count(*) filter (where c.in_cooldown and not c.is_duplicate))::integer,
           (count(*) filter (where not c.is_duplicate and not c.in_cooldown))::integer,
           (select count(*) from ins)::integer
    into candidates, duplicates, suppressed_cooldown, v_fresh, notified
    from classified c;

    if p_dry_run then
      notified := v_fresh;
    end if;
    conflicts := v_fresh - notified;
    next_cursor := v_last;
    done := not exists (select 1 from public.peer_mentors m where m.status = 'active' and m.id > v_last);
  end if;

  if not p_dry_run then
    update scheduler.checkpoints c
    set cursor = next_cursor, done = evaluate_batch.done,
        evaluated = c.evaluated + evaluate_batch.evaluated, notified = c.notified + evaluate_batch.notified,
        batches = c.batches + 1, updated_at = now(),
        completed_at = case when evaluate_batch.done then now() end
    where c.evaluation_date = p_date and c.scenario = p_scenario;
  end if;
  return next;
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
  scheduler.evaluate_batch(uuid, text, date, uuid, integer, boolean),
  scheduler.claim_deliveries(uuid, timestamptz, date, integer, integer, integer),
  scheduler.record_deliveries(uuid, jsonb, text[]), scheduler.delivery_backlog(timestamptz)
from public;
grant execute on function
  scheduler.start_run(uuid, date, text, boolean, jsonb), scheduler.finish_run(uuid, text, integer, jsonb),
  scheduler.claim_checkpoint(uuid, date, text, integer), scheduler.release_checkpoint(uuid, date, text),
  scheduler.record_scenario_stats(text, integer, integer),
  scheduler.evaluate_batch(uuid, text, date, uuid, integer, boolean),
  scheduler.claim_deliveries(uuid, timestamptz, date, integer, integer, integer),
  scheduler.record_deliveries(uuid, jsonb, text[]), scheduler.delivery_backlog(timestamptz)
to scenario_scheduler;
