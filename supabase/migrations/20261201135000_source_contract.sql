-- The source contract (docs/source-contract.md): the scheduler reads the app only through the views in
-- schema scheduler_source, checks them once per run, and counts as evaluated only the mentors a scenario is
-- enabled for.
--
-- * Projects migrated before the contract existed get its placeholder views here (a fresh project gets them
--   from 20261126090100_scheduler_schema.sql); the operator replaces them with a mapping of their own
--   (supabase/reference/source_mapping.sql for the reference schema). A view that exists is left alone.
-- * The scheduler's tables lose their foreign keys to the app's tables (views cannot be referenced, and the
--   app's tables are not the scheduler's to constrain); the app's tables themselves stay as they are.
-- * Every function that read public.organisations, peer_mentors, activities, certifications or device_tokens
--   is redefined over scheduler_source.* in the next two migrations (evaluation, then push delivery).
-- * scheduler.check_source(), executed by the function role once per run: the contract's views exist with the
--   contract's column types, and the source yields at least one active mentor; otherwise SQLSTATE SC422 with
--   a message naming the problem. The run fails (HTTP 500, error code source_contract) and the watchdog
--   raises source_contract.
-- Safe to apply twice.

create schema if not exists scheduler_source;
comment on schema scheduler_source is
  'Scenario scheduler source contract: views over the app''s tables. Not exposed through the Data API.';
revoke all on schema scheduler_source from public;
do $$
declare
  r text;
begin
  if pg_catalog.to_regclass('scheduler_source.organisations') is null then
    create view scheduler_source.organisations as
      select null::uuid as id, null::text as name, null::text as timezone where false;
  end if;
  if pg_catalog.to_regclass('scheduler_source.peer_mentors') is null then
    create view scheduler_source.peer_mentors as
      select null::uuid as id, null::uuid as organisation_id, null::text as full_name, null::text as status,
             null::text as locale, null::date as joined_on
      where false;
  end if;
  if pg_catalog.to_regclass('scheduler_source.activities') is null then
    create view scheduler_source.activities as
      select null::uuid as user_id, null::date as activity_date where false;
  end if;
  if pg_catalog.to_regclass('scheduler_source.certifications') is null then
    create view scheduler_source.certifications as
      select null::uuid as id, null::uuid as user_id, null::text as name, null::date as expires_at where false;
  end if;
  if pg_catalog.to_regclass('scheduler_source.device_tokens') is null then
    create view scheduler_source.device_tokens as
      select null::uuid as user_id, null::text as token, null::text as platform, null::boolean as disabled
      where false;
  end if;
  -- Supabase's API roles and the function role: nothing in the contract's schema.
  for r in select rolname from pg_catalog.pg_roles
           where rolname in ('anon', 'authenticated', 'service_role', 'scenario_scheduler') loop
    execute pg_catalog.format('revoke all on schema scheduler_source from %I', r);
    execute pg_catalog.format('revoke all on all tables in schema scheduler_source from %I', r);
  end loop;
end
$$;

-- Foreign keys from the scheduler's tables to the app's tables (created by earlier versions of the migrations).
do $$
declare
  c record;
begin
  for c in
    select k.conname, k.conrelid::regclass as tbl
    from pg_catalog.pg_constraint k
    where k.contype = 'f'
      and k.conrelid in (pg_catalog.to_regclass('public.notifications'), pg_catalog.to_regclass('scheduler.scenario_config'),
                         pg_catalog.to_regclass('scheduler.delivery_config'))
      and k.confrelid in (pg_catalog.to_regclass('public.organisations'), pg_catalog.to_regclass('public.peer_mentors'))
  loop
    execute pg_catalog.format('alter table %s drop constraint %I', c.tbl, c.conname);
  end loop;
end
$$;

-- The contract: per view, its columns and their types (docs/source-contract.md).
create or replace function scheduler.source_contract()
returns table (view_name text, column_name text, type_name regtype)
language sql immutable set search_path = ''
as $$
  values ('organisations', 'id', 'uuid'::pg_catalog.regtype), ('organisations', 'name', 'text'),
         ('organisations', 'timezone', 'text'),
         ('peer_mentors', 'id', 'uuid'), ('peer_mentors', 'organisation_id', 'uuid'),
         ('peer_mentors', 'full_name', 'text'), ('peer_mentors', 'status', 'text'),
         ('peer_mentors', 'locale', 'text'), ('peer_mentors', 'joined_on', 'date'),
         ('activities', 'user_id', 'uuid'), ('activities', 'activity_date', 'date'),
         ('certifications', 'id', 'uuid'), ('certifications', 'user_id', 'uuid'),
         ('certifications', 'name', 'text'), ('certifications', 'expires_at', 'date'),
         ('device_tokens', 'user_id', 'uuid'), ('device_tokens', 'token', 'text'),
         ('device_tokens', 'platform', 'text'), ('device_tokens', 'disabled', 'boolean')
$$;

-- What does not hold in the contract, one line per problem (empty: it holds). Catalog reads only.
create or replace function scheduler.source_problems()
returns setof text
language sql stable set search_path = ''
as $$
  select case
           when a.attname is null and not exists (
             select 1 from pg_catalog.pg_class r
             where r.relnamespace = 'scheduler_source'::pg_catalog.regnamespace and r.relname = c.view_name)
             then pg_catalog.format('scheduler_source.%s is missing', c.view_name)
           when a.attname is null
             then pg_catalog.format('scheduler_source.%s has no column %s (%s)', c.view_name, c.column_name, c.type_name)
           else pg_catalog.format('scheduler_source.%s.%s is %s, want %s', c.view_name, c.column_name,
                                  pg_catalog.format_type(a.atttypid, a.atttypmod), c.type_name)
         end
  from scheduler.source_contract() c
  left join pg_catalog.pg_class r
    on r.relnamespace = 'scheduler_source'::pg_catalog.regnamespace and r.relname = c.view_name
  left join pg_catalog.pg_attribute a
    on a.attrelid = r.oid and a.attname = c.column_name and a.attnum > 0 and not a.attisdropped
  where a.attname is null or a.atttypid <> c.type_name
  -- One line for a missing view, not one per column.
  group by 1
  order by 1
$$;

-- Checks the contract once per run (the function role executes it before any batch): the views exist with
-- the contract's column types, and the source yields at least one active mentor. Otherwise it raises
-- SQLSTATE SC422 with a message naming every problem; the run fails and the watchdog says so.
create or replace function scheduler.check_source()
returns void
language plpgsql stable security definer set search_path = ''
as $$
declare
  v_problems text;
begin
  select pg_catalog.string_agg(p, '; ') into v_problems from scheduler.source_problems() p;
  if v_problems is not null then
    raise exception using errcode = 'SC422', message = 'source contract does not hold: ' || v_problems,
      hint = 'map scheduler_source onto the app''s tables: docs/source-contract.md';
  end if;
  -- Planned only now that the view is known to exist with its columns.
  if not exists (select 1 from scheduler_source.peer_mentors m where m.status = 'active') then
    raise exception using errcode = 'SC422',
      message = 'source contract: scheduler_source.peer_mentors yields no active mentor (still the empty placeholder, or a mapping that selects nobody)',
      hint = 'map scheduler_source onto the app''s tables: docs/source-contract.md';
  end if;
end
$$;

revoke all on function scheduler.source_contract() from public;
revoke all on function scheduler.source_problems() from public;
revoke all on function scheduler.check_source() from public;
grant execute on function scheduler.check_source() to scenario_scheduler;

-- The watchdog raises source_contract when a run of today failed on the contract (the run's report carries
-- the problem). It explains that day's HTTP 500 answers and the missing evaluation: those are not raised
-- besides it. The findings of 20261201110200_scheduler_watchdog.sql become scheduler.watch_findings_core.
alter table scheduler.alerts drop constraint if exists alerts_problem_check;
alter table scheduler.alerts add constraint alerts_problem_check check (problem in (
  'not_scheduled', 'vault_entry_missing', 'invoke_failed', 'no_answer', 'unauthorised',
  'unreachable', 'timeout', 'http_error', 'run_missing', 'run_partial', 'source_contract'));

do $$
begin
  if pg_catalog.to_regprocedure('scheduler.watch_findings_core(timestamptz)') is null then
    alter function scheduler.watch_findings(timestamptz) rename to watch_findings_core;
  end if;
end
$$;
revoke all on function scheduler.watch_findings_core(timestamptz) from public;

create or replace function scheduler.watch_findings(p_now timestamptz default now())
returns table (problem text, detail text, since timestamptz)
language plpgsql stable set search_path = ''
as $$
declare
  v_today  date := (p_now at time zone (select s.time_zone from scheduler.ops_settings s))::date;
  v_source boolean := false;
  r        record;
begin
  -- The newest run of today that failed on the contract, unless a later run of today got past the check.
  for r in
    select u.report ->> 'problem' as what, u.started_at
    from scheduler.runs u
    where u.evaluation_date = v_today and u.status = 'failed' and u.report ->> 'error_code' = 'source_contract'
      and not exists (select 1 from scheduler.runs v
                      where v.evaluation_date = v_today and v.started_at > u.started_at
                        and coalesce(v.report ->> 'error_code', '') <> 'source_contract' and v.status <> 'running')
    order by u.started_at desc
    limit 1
  loop
    problem := 'source_contract';
    detail := r.what;
    since := null;
    v_source := true;
    return next;
  end loop;
  for r in select * from scheduler.watch_findings_core(p_now) f loop
    continue when v_source and r.problem in ('http_error', 'run_missing', 'run_partial');
    problem := r.problem;
    detail := r.detail;
    since := r.since;
    return next;
  end loop;
end
$$;
revoke all on function scheduler.watch_findings(timestamptz) from public;
