-- TEST ONLY, for `supabase db lint` (plpgsql_check) in a database pg_cron does not serve. pg_cron can only
-- be created in the one database cron.database_name names, so a fresh test database has no cron schema,
-- and plpgsql_check would report every call the scheduler makes to it (through EXECUTE, because pg_cron is
-- optional) as an error. This gives the checker pg_cron 1.4's signatures and nothing else: the table is
-- empty and the functions do nothing. Never apply it to a real project, and never copy it into a migration.

set client_min_messages = warning;

do $$
begin
  if pg_catalog.to_regnamespace('cron') is null then
    create schema cron;
    comment on schema cron is 'TEST STAND-IN for pg_cron''s signatures (lint only)';
    create table cron.job (
      jobid    bigserial primary key,
      schedule text not null,
      command  text not null,
      nodename text not null default 'localhost',
      nodeport integer not null default 5432,
      database text not null default pg_catalog.current_database(),
      username text not null default current_user,
      active   boolean not null default true,
      jobname  text
    );
    create table cron.job_run_details (
      jobid          bigint,
      runid          bigserial primary key,
      job_pid        integer,
      database       text,
      username       text,
      command        text,
      status         text,
      return_message text,
      start_time     timestamptz,
      end_time       timestamptz
    );
    create function cron.schedule(job_name text, schedule text, command text) returns bigint
      language sql as $f$ select null::bigint $f$;
    create function cron.unschedule(job_id bigint) returns boolean
      language sql as $f$ select false $f$;
  end if;
end
$$;
