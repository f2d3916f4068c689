-- The daily schedule (the original task's scenario-scheduler-daily, 0 6 * * *), and no secret anywhere pg_cron
-- keeps text.
-- Runs where pg_cron is installed (Supabase's postgres database; locally DATABASE_URL's database):
--   supabase test db        |        pg_prove --dbname "$DATABASE_URL" supabase/tests/*.sql
-- On a project whose operator chose another schedule (scheduler.schedule_hourly, a split), tests 2 and 4 say so.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(11);

select ok(pg_catalog.to_regnamespace('cron') is not null, 'pg_cron is installed in this database');

select is(
  (select pg_catalog.array_agg(pg_catalog.concat_ws(' | ', jobname, schedule, command, database, active::text))
   from cron.job where jobname like 'scenario-scheduler-%'),
  array['scenario-scheduler-daily | 0 6 * * * | select scheduler.invoke(null, ''scenario-scheduler-daily'') | ' || current_database() || ' | true'],
  'exactly one scheduler job, the daily one: 0 6 * * * (06:00 UTC = 07:00 CET, 08:00 CEST), passing its name, active, in this database'
);

-- Scheduling it again leaves exactly one scheduler job (cron.schedule updates a job of the same name).
select lives_ok(
  $$select scheduler.schedule_daily()$$,
  'scheduling the daily job again succeeds'
);
select is(
  (select pg_catalog.array_agg(jobname::text || ' ' || schedule::text) from cron.job where jobname like 'scenario-scheduler-%'),
  array['scenario-scheduler-daily 0 6 * * *'],
  'still exactly one scheduler job, the daily one at 0 6 * * *, after scheduling it again'
);

select is_empty(
  $$select jobname from cron.job
    where jobname like 'scenario-scheduler-%'
      and (command !~ '^select scheduler\.(invoke\((null|array\[''[a-z_]+''\]), ''scenario-scheduler-[a-z-]+''\)|invoke_due_slots\(''scenario-scheduler-[a-z-]+'', [0-9]+\))$'
           or command not like '%''' || jobname || '''%')$$,
  'every scheduler job only calls scheduler.invoke() or scheduler.invoke_due_slots() with its own job name (no URL, header or secret in cron.job.command)'
);

-- With Vault present, look for the stored secret's value itself.
select case when pg_catalog.to_regclass('vault.decrypted_secrets') is null
  then skip('Vault is not installed in this database', 2)
  else collect_tap(
    is_empty(
      $$select j.jobname from cron.job j, vault.decrypted_secrets s
        where s.name in ('scenario_scheduler_secret', 'scenario_scheduler_url') and s.decrypted_secret <> ''
          and strpos(j.command, s.decrypted_secret) > 0$$,
      'no Vault secret of the scheduler appears in cron.job'),
    is_empty(
      $$select d.runid from cron.job_run_details d, vault.decrypted_secrets s
        where s.name = 'scenario_scheduler_secret' and s.decrypted_secret <> ''
          and (strpos(d.command, s.decrypted_secret) > 0 or strpos(coalesce(d.return_message, ''), s.decrypted_secret) > 0)$$,
      'the secret appears in no cron.job_run_details row'))
  end;

select function_returns('scheduler', 'invoke', array['text[]', 'text', 'boolean', 'integer', 'text', 'date'], 'bigint',
  'scheduler.invoke(scenarios, job, dry_run, shards, slot, evaluation_date) returns the (first) pg_net request id');
select is_definer('scheduler', 'invoke', array['text[]', 'text', 'boolean', 'integer', 'text', 'date'],
  'scheduler.invoke runs as its owner (it reads Vault)');
select ok(
  not pg_catalog.has_function_privilege('scenario_scheduler', 'scheduler.invoke(text[], text, boolean, integer, text, date)', 'execute'),
  'the function role cannot call scheduler.invoke (only pg_cron''s job owner does)'
);
select ok(
  not exists (select 1 from pg_catalog.pg_roles r
              where r.rolname in ('anon', 'authenticated')
                and pg_catalog.has_function_privilege(r.oid, 'scheduler.invoke(text[], text, boolean, integer, text, date)', 'execute')),
  'anon and authenticated cannot call scheduler.invoke'
);

select * from finish();
rollback;
