-- What every Supabase project has before its first migration, for a plain PostgreSQL: the API roles
-- (anon, authenticated, service_role), a minimal auth.uid() and the default privileges Supabase gives those
-- roles in schema public. Local clusters only: this is NOT a migration, and on Supabase it is never applied
-- (migrations must not fight Supabase's own roles). Everything is created only when absent; safe to apply twice.

set client_min_messages = warning;

do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role'] loop
    if not exists (select 1 from pg_catalog.pg_roles where rolname = r) then
      begin
        execute format('create role %I nologin noinherit', r);
      exception
        -- Roles are cluster-wide: another session may have created it in between.
        when duplicate_object or unique_violation then null;
      end;
    end if;
  end loop;
end
$$;
-- service_role bypasses row-level security on Supabase (changing the attribute needs a superuser: only
-- where it is not set yet).
do $$
begin
  if not (select rolbypassrls from pg_catalog.pg_roles where rolname = 'service_role') then
    alter role service_role bypassrls;
  end if;
end
$$;

create schema if not exists auth;
do $$
begin
  if pg_catalog.to_regprocedure('auth.uid()') is null then
    -- As on Supabase: the user id is the JWT's sub claim, which PostgREST puts in request.jwt.claims.
    create function auth.uid() returns uuid
    language sql stable
    as $f$
      select coalesce(
        nullif(pg_catalog.current_setting('request.jwt.claim.sub', true), ''),
        (nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
      )::uuid
    $f$;
  end if;
end
$$;
grant usage on schema auth to anon, authenticated, service_role;
grant execute on function auth.uid() to anon, authenticated, service_role;

grant usage on schema public to anon, authenticated, service_role;
do $$
begin
  if pg_catalog.to_regnamespace('extensions') is not null then
    grant usage on schema extensions to anon, authenticated, service_role;
  end if;
end
$$;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
-- The same for objects that postgres (the role that applies migrations) creates, as on Supabase.
do $$
begin
  if exists (select 1 from pg_catalog.pg_roles where rolname = 'postgres') and current_user <> 'postgres' then
    grant usage on schema auth to postgres;
    -- postgres may act as the API roles (set role authenticated), as on Supabase.
    grant anon, authenticated, service_role to postgres;
    grant execute on function auth.uid() to postgres;
    alter default privileges for role postgres in schema public grant all on tables to anon, authenticated, service_role;
    alter default privileges for role postgres in schema public grant all on sequences to anon, authenticated, service_role;
    alter default privileges for role postgres in schema public grant all on functions to anon, authenticated, service_role;
  end if;
end
$$;
