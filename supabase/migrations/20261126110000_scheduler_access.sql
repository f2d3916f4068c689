-- Least privilege for the scenario scheduler.
--
-- * Role scenario_scheduler: the function's database role. It may use schema scheduler and execute the
--   SECURITY DEFINER functions the store calls (adapters/postgres/queries.go), and nothing else: no table
--   privileges at all. It is created NOLOGIN; the operator makes it a login role with a password outside
--   migrations (a password never belongs in a migration):
--     alter role scenario_scheduler with login password '...';
-- * Row-level security on the table the scheduler keeps in public (notifications), so the Data API shows nothing unless a
--   policy says so. Mentors read their own rows where Supabase's auth.uid() exists.
-- * Supabase's API roles (anon, authenticated) lose what Supabase's default privileges gave them on the
--   scheduler's objects. Those roles are Supabase's: this migration never creates them, it only adjusts
--   grants where they exist (locally a bootstrap step creates them; see infra/localpg/supabase_bootstrap.sql).
-- Safe to apply twice.

do $$
begin
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'scenario_scheduler') then
    create role scenario_scheduler nologin;
  end if;
exception
  -- Another session created it between the check and the create (roles are cluster-wide).
  when duplicate_object or unique_violation then null;
end
$$;
comment on role scenario_scheduler is
  'Scenario scheduler function: executes the scheduler''s SECURITY DEFINER functions, no table privileges.';

grant usage on schema scheduler to scenario_scheduler;

-- Nothing on tables, sequences or other functions, even if something granted it earlier.
revoke all on all tables in schema scheduler from scenario_scheduler;
revoke all on all sequences in schema scheduler from scenario_scheduler;
revoke all on all functions in schema scheduler from scenario_scheduler;
revoke all on all tables in schema public from scenario_scheduler;

-- Exactly the functions the store calls.
grant execute on function
  scheduler.enabled_scenarios(),
  scheduler.start_run(uuid, date, text, boolean, jsonb),
  scheduler.finish_run(uuid, text, integer, jsonb),
  scheduler.claim_checkpoint(uuid, date, text, integer),
  scheduler.release_checkpoint(uuid, date, text),
  scheduler.remaining_mentors(uuid),
  scheduler.record_scenario_stats(text, integer, integer),
  scheduler.evaluate_batch(uuid, text, date, uuid, integer, boolean)
to scenario_scheduler;

-- Functions created later in schema scheduler are not executable by everyone.
alter default privileges in schema scheduler revoke execute on functions from public;

-- Row-level security on every table of public the scheduler ships (the app's own tables are the app's: the
-- reference schema, supabase/reference/app_schema.sql, enables it on its own). The scheduler writes through
-- SECURITY DEFINER functions owned by the table owner, which row-level security does not restrict.
alter table public.notifications enable row level security;

do $$
declare
  r record;
begin
  -- Supabase's API roles: no business in the scheduler's schema, and anon none with notifications.
  -- Authenticated users may read (row-level security picks their own rows) but never write notifications.
  for r in select rolname from pg_catalog.pg_roles where rolname in ('anon', 'authenticated') loop
    execute format('revoke all on schema scheduler from %I', r.rolname);
    execute format('revoke all on all tables in schema scheduler from %I', r.rolname);
    execute format('revoke all on all sequences in schema scheduler from %I', r.rolname);
    execute format('revoke all on all functions in schema scheduler from %I', r.rolname);
    execute format('revoke all on table public.notifications from %I', r.rolname);
  end loop;
  if exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticated') then
    grant select on table public.notifications to authenticated;
  end if;

  -- Mentors read their own rows. Only where Supabase Auth is present (auth.uid() and the authenticated role);
  -- elsewhere row-level security simply shows nothing through the API.
  if pg_catalog.to_regprocedure('auth.uid()') is null
     or not exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticated') then
    return;
  end if;
  if not exists (select 1 from pg_catalog.pg_policies
                 where schemaname = 'public' and tablename = 'notifications' and policyname = 'mentors read own notifications') then
    create policy "mentors read own notifications" on public.notifications
      for select to authenticated using (user_id = (select auth.uid()));
  end if;
end
$$;
