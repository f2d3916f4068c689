-- What Supabase's administrative role sets up before a project's first migration, for a plain PostgreSQL
-- whose bootstrap superuser is supabase_admin (as on Supabase). Applied by localpg as that role to template1
-- and to the database pg_cron runs in, before supabase_bootstrap.sql. Local clusters only: NOT a migration.
--
-- * postgres: the role DATABASE_URL uses and that applies migrations, with the attributes Supabase gives it
--   (login, createdb, createrole, bypassrls, replication) and NOT superuser. It may end backends of other
--   roles (pg_signal_backend) and read the monitoring views (pg_monitor), as on Supabase.
-- * Schema extensions with pgcrypto and btree_gist, owned by the administrative role.
-- * pg_cron, in the database cron.database_name names, with the grants Supabase gives postgres.
-- * pg_net, where the server preloads it, in schema extensions (its objects are in schema net), owned by the
--   administrative role, with pg_net's own grants (its install script grants to PUBLIC).
-- Safe to apply twice.

set client_min_messages = warning;

do $$
begin
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'postgres') then
    begin
      create role postgres;
    exception
      when duplicate_object or unique_violation then null;
    end;
  end if;
end
$$;
alter role postgres nosuperuser login createdb createrole bypassrls replication;
alter role postgres set search_path = "$user", public, extensions;
grant pg_signal_backend, pg_monitor to postgres;

-- Supabase's postgres owns its database (and so may revoke TEMP from PUBLIC on it).
do $$
begin
  if pg_catalog.current_database() = 'postgres' then
    alter database postgres owner to postgres;
  end if;
end
$$;

create schema if not exists extensions;
grant usage on schema extensions to postgres;
create extension if not exists pgcrypto with schema extensions;
create extension if not exists btree_gist with schema extensions;

do $$
begin
  if pg_catalog.current_setting('cron.database_name', true) = pg_catalog.current_database()
     and exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_cron') then
    -- In pg_catalog, as on Supabase (its objects are in schema cron).
    create extension if not exists pg_cron with schema pg_catalog;
    -- Supabase's grants: postgres schedules and inspects jobs.
    grant usage on schema cron to postgres with grant option;
    grant all on all tables in schema cron to postgres with grant option;
    grant all on all sequences in schema cron to postgres with grant option;
    grant all on all functions in schema cron to postgres with grant option;
    alter default privileges in schema cron grant all on tables to postgres with grant option;
    alter default privileges in schema cron grant all on sequences to postgres with grant option;
    alter default privileges in schema cron grant all on functions to postgres with grant option;
  end if;
  -- pg_net can only be created where its library is preloaded.
  if exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_net')
     and 'pg_net' = any(pg_catalog.string_to_array(pg_catalog.replace(
           pg_catalog.current_setting('shared_preload_libraries'), ' ', ''), ',')) then
    create extension if not exists pg_net with schema extensions;
  end if;
end
$$;
