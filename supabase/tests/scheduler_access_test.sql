-- Least privilege: the function role, SECURITY DEFINER functions, row-level security, Supabase's API roles.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(11);

select has_role('scenario_scheduler', 'the function role scenario_scheduler exists');
select ok(
  not (select rolsuper or rolcreaterole or rolcreatedb or rolbypassrls or rolreplication
       from pg_catalog.pg_roles where rolname = 'scenario_scheduler'),
  'scenario_scheduler has no superuser, createrole, createdb, bypassrls or replication attribute'
);
select schema_privs_are('scheduler', 'scenario_scheduler', array['USAGE'],
  'scenario_scheduler may use schema scheduler, not create in it');

select set_eq(
  $$select p.oid::regprocedure::text from pg_catalog.pg_proc p
    where p.pronamespace = 'scheduler'::regnamespace
      and pg_catalog.has_function_privilege('scenario_scheduler', p.oid, 'execute')$$,
  array[
    'scheduler.enabled_scenarios()',
    'scheduler.start_run(uuid,date,text,boolean,jsonb)',
    'scheduler.finish_run(uuid,text,integer,jsonb)',
    'scheduler.record_scenario_stats(text,integer,integer)',
    'scheduler.claim_checkpoint(uuid,date,text,integer,integer,integer,text)',
    'scheduler.release_checkpoint(uuid,date,text,integer,integer,text)',
    'scheduler.checkpoint_progress(date,text,integer,integer,text)',
    'scheduler.remaining_mentors(uuid,integer,integer,text)',
    'scheduler.evaluate_batch(uuid,text,date,uuid,integer,boolean,integer,integer,text)',
    'scheduler.evaluation_mode(date,text,integer,integer,text)',
    'scheduler.explain(uuid,date)',
    'scheduler.explain_mentor(text)',
    'scheduler.push_templates()',
    'scheduler.claim_pushes(uuid,timestamp with time zone,date,integer,integer,integer)',
    'scheduler.record_deliveries(uuid,jsonb,text[])',
    'scheduler.delivery_backlog(timestamp with time zone)',
    'scheduler.claim_signature(text,timestamp with time zone)',
    'scheduler.check_source()'
  ],
  'scenario_scheduler executes exactly the functions the store calls (evaluation, push delivery, the replay guard), explain and explain_mentor'
);
select is_empty(
  $$select p.oid::regprocedure::text from pg_catalog.pg_proc p
    where p.pronamespace = 'scheduler'::regnamespace
      and pg_catalog.has_function_privilege('scenario_scheduler', p.oid, 'execute') and not p.prosecdef$$,
  'every function scenario_scheduler may execute is SECURITY DEFINER'
);
select is_empty(
  $$select c.oid::regclass::text from pg_catalog.pg_class c
    where c.relnamespace in ('scheduler'::regnamespace, 'public'::regnamespace, 'scheduler_source'::regnamespace)
      and c.relkind in ('r', 'p', 'v', 'm', 'S')
      and (pg_catalog.has_table_privilege('scenario_scheduler', c.oid, 'select')
           or pg_catalog.has_table_privilege('scenario_scheduler', c.oid, 'insert')
           or pg_catalog.has_table_privilege('scenario_scheduler', c.oid, 'update')
           or pg_catalog.has_table_privilege('scenario_scheduler', c.oid, 'delete')
           or pg_catalog.has_table_privilege('scenario_scheduler', c.oid, 'truncate'))$$,
  'scenario_scheduler has no privilege on any table, view or sequence of scheduler, scheduler_source or public'
);

select is_empty(
  $$select p.oid::regprocedure::text from pg_catalog.pg_proc p
    where p.pronamespace = 'scheduler'::regnamespace and p.prosecdef
      and not coalesce(p.proconfig @> array['search_path=""'], false)$$,
  'every SECURITY DEFINER function in scheduler has SET search_path = '''''
);

select is_empty(
  $$select c.relname::text from pg_catalog.pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relrowsecurity$$,
  'row-level security is enabled on every table in public'
);

select is_empty(
  $$select r.rolname::text || ' on ' || x.what from pg_catalog.pg_roles r,
      (values ('schema scheduler', 'scheduler', 'USAGE'), ('schema scheduler', 'scheduler', 'CREATE')) x(what, s, p)
    where r.rolname in ('anon', 'authenticated') and pg_catalog.has_schema_privilege(r.oid, x.s, x.p)$$,
  'anon and authenticated have no access to schema scheduler'
);
select is_empty(
  $$select r.rolname::text || ' ' || x.p from pg_catalog.pg_roles r,
      (values ('insert'), ('update'), ('delete'), ('truncate')) x(p)
    where r.rolname in ('anon', 'authenticated')
      and pg_catalog.has_table_privilege(r.oid, 'public.notifications', x.p)
    union all
    select 'anon select' where exists (select 1 from pg_catalog.pg_roles where rolname = 'anon')
      and pg_catalog.has_table_privilege('anon', 'public.notifications', 'select')$$,
  'anon cannot read notifications; neither anon nor authenticated can write them'
);

select case when pg_catalog.to_regprocedure('auth.uid()') is null
  then skip('no auth.uid() in this database (not a Supabase project)', 1)
  else is(
    (select cmd || ' to ' || pg_catalog.array_to_string(roles, ',') from pg_catalog.pg_policies
     where schemaname = 'public' and tablename = 'notifications' and policyname = 'mentors read own notifications'),
    'SELECT to authenticated',
    'mentors (authenticated) read their own notifications')
  end;

select * from finish();
rollback;
