-- TEST ONLY. Stand-ins for pg_net and Supabase Vault, which are not packaged for Debian, with the SQL
-- signatures the scheduler uses AND the ownership and grants of the real extensions, so that what a role
-- can do to them here is what it can do on Supabase. The Go tests load this file, as the administrative
-- role (localpg's supabase_admin), into their databases where the real extensions are missing; where
-- pg_net or supabase_vault is installed the tests use the real ones. Never apply it to a real project, and
-- never copy it into a migration.
--
-- net: net.http_post is SECURITY INVOKER and queues the request in net.http_request_queue as pg_net 0.20's
-- does; nothing is sent. The tests play pg_net's worker (supabase/served_test.go): as the role pg_net's worker
-- connects as (pg_net.username; pg_net's default is the bootstrap superuser, hosted Supabase and localpg set
-- postgres), so that a trigger on these tables runs as that role; they send requests queued in the database
-- pg_net.database_name names (default postgres), and only there, and write the answer into
-- net._http_response. Grants are pg_net's own (the end of its sql/pg_net.sql): usage on the schema, every
-- privilege on its tables and sequences to PUBLIC (TRIGGER included), and its functions keep PostgreSQL's
-- default EXECUTE for PUBLIC.
-- vault: Vault 0.3's objects with their signatures: vault.decrypted_secrets calls
-- vault._crypto_aead_det_decrypt for each row, so a reader needs EXECUTE on it; create_secret and
-- update_secret are SECURITY DEFINER. Grants are Supabase's: postgres (with grant option) and service_role
-- may read and delete secrets, create and update them, and execute the decrypt function; PUBLIC may use
-- nothing in the schema.
--
-- Where the stand-ins still differ from the real extensions (none of it changes what a role may do):
-- * nothing is encrypted: the "cipher" is the identity, and vault.secrets.secret is the secret in base64;
-- * no background worker: a test sends each request when it wants the answer, one request per call, from
--   its own connection as the worker's role, so nothing is sent by itself, batching is not modelled, and an
--   error while recording an answer (a trigger on net._http_response that raises) comes back to the test,
--   where pg_net's worker exits, is restarted by the server and sends the request again;
-- * only net.http_post, net.http_get and net._encode_url_with_params_array exist, in SQL and PL/pgSQL (C or
--   PL/pgSQL calling C in pg_net), and they check their arguments less; the queue's method is text with a
--   check, an enum in pg_net;
-- * the extensions are plain schemas: pg_extension has no pg_net or supabase_vault row, and their owner can
--   change their objects without ALTER EXTENSION.

set client_min_messages = warning;

do $$
begin
  if pg_catalog.to_regnamespace('net') is null then
    create schema net;
    comment on schema net is 'TEST STAND-IN for pg_net';
    create unlogged table net.http_request_queue (
      id                   bigserial,
      method               text not null check (method in ('GET', 'POST', 'DELETE')),
      url                  text not null,
      headers              jsonb,
      body                 bytea,
      timeout_milliseconds integer not null
    );
    create unlogged table net._http_response (
      id           bigint,
      status_code  integer,
      content_type text,
      headers      jsonb,
      content      text,
      timed_out    boolean,
      error_msg    text,
      created      timestamptz not null default now()
    );
    -- pg_net's URL encoding (a C function there): the parameters appended, and a URL without a path
    -- given "/", as curl normalises it (pg_net stores http://host as http://host/).
    create function net._encode_url_with_params_array(url text, params_array text[])
    returns text
    language sql immutable
    as $f$
      select case when url ~ '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*$' then url || '/' else url end
             || case when coalesce(cardinality(params_array), 0) = 0 then ''
                     when url like '%?%' then '&' || array_to_string(params_array, '&')
                     else '?' || array_to_string(params_array, '&') end
    $f$;
    create function net.http_post(
      url text,
      body jsonb default '{}'::jsonb,
      params jsonb default '{}'::jsonb,
      headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
      timeout_milliseconds integer default 5000)
    returns bigint
    language plpgsql
    as $f$
    declare
      request_id bigint;
    begin
      insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
      values ('POST', net._encode_url_with_params_array(url, '{}'::text[]), headers, convert_to(body::text, 'UTF8'),
              timeout_milliseconds)
      returning id into request_id;
      return request_id;
    end
    $f$;
    create function net.http_get(
      url text, params jsonb default '{}'::jsonb, headers jsonb default '{}'::jsonb,
      timeout_milliseconds integer default 5000)
    returns bigint
    language plpgsql
    as $f$
    declare
      request_id bigint;
    begin
      insert into net.http_request_queue (method, url, headers, timeout_milliseconds)
      values ('GET', url, headers, timeout_milliseconds)
      returning id into request_id;
      return request_id;
    end
    $f$;
    -- pg_net's own grants.
    grant usage on schema net to public;
    grant all on all sequences in schema net to public;
    grant all on all tables in schema net to public;
  end if;

  if pg_catalog.to_regnamespace('vault') is null then
    create schema vault;
    comment on schema vault is 'TEST STAND-IN for supabase_vault';
    -- supabase_vault 0.3's C functions (libsodium's deterministic AEAD with the server's root key). Here
    -- "encryption" is the identity: what matters is that they exist with these signatures and grants.
    create function vault._crypto_aead_det_encrypt(
      message bytea, additional bytea, key_id bigint, context bytea default 'pgsodium', nonce bytea default null)
    returns bytea
    language plpgsql immutable
    as $f$ begin return message; end $f$;
    create function vault._crypto_aead_det_decrypt(
      message bytea, additional bytea, key_id bigint, context bytea default 'pgsodium', nonce bytea default null)
    returns bytea
    language plpgsql immutable
    as $f$ begin return message; end $f$;
    create table vault.secrets (
      id          uuid primary key default gen_random_uuid(),
      name        text unique,
      description text not null default '',
      secret      text not null,
      key_id      uuid,
      nonce       bytea,
      created_at  timestamptz not null default now(),
      updated_at  timestamptz not null default now()
    );
    -- Vault's view, word for word: it calls the decrypt function, and a view's functions run with the
    -- reader's rights, so reading it takes EXECUTE on vault._crypto_aead_det_decrypt as well as SELECT.
    create view vault.decrypted_secrets as
      select s.id, s.name, s.description, s.secret,
             convert_from(vault._crypto_aead_det_decrypt(
               message := decode(s.secret, 'base64'::text), additional := convert_to(s.id::text, 'utf8'),
               key_id := 0, context := 'pgsodium'::bytea, nonce := s.nonce), 'utf8'::name) as decrypted_secret,
             s.key_id, s.nonce, s.created_at, s.updated_at
      from vault.secrets s;
    -- SECURITY DEFINER, as Vault's (since 0.3.0).
    create function vault.create_secret(
      new_secret text, new_name text default null, new_description text default '', new_key_id uuid default null)
    returns uuid
    language sql volatile security definer set search_path = ''
    as $f$
      with n as (select pg_catalog.gen_random_uuid() as id)
      insert into vault.secrets (id, secret, name, description, key_id)
      select n.id,
             pg_catalog.encode(vault._crypto_aead_det_encrypt(pg_catalog.convert_to(new_secret, 'utf8'),
               pg_catalog.convert_to(n.id::text, 'utf8'), 0), 'base64'),
             new_name, coalesce(new_description, ''), new_key_id
      from n
      returning id
    $f$;
    create function vault.update_secret(
      secret_id uuid, new_secret text default null, new_name text default null,
      new_description text default null, new_key_id uuid default null)
    returns void
    language sql volatile security definer set search_path = ''
    as $f$
      update vault.secrets
      set secret = coalesce(pg_catalog.encode(vault._crypto_aead_det_encrypt(pg_catalog.convert_to(new_secret, 'utf8'),
                     pg_catalog.convert_to(id::text, 'utf8'), 0), 'base64'), secret),
          name = coalesce(new_name, name),
          description = coalesce(new_description, description), key_id = coalesce(new_key_id, key_id),
          updated_at = now()
      where id = secret_id
    $f$;
    -- Vault revokes its functions from PUBLIC; Supabase grants postgres (with grant option) and service_role
    -- the schema, reading and deleting secrets, create_secret, update_secret and the decrypt function (not
    -- the encrypt one: secrets are written through create_secret and update_secret only).
    revoke all on schema vault from public;
    revoke all on all functions in schema vault from public;
    if exists (select 1 from pg_catalog.pg_roles where rolname = 'postgres') then
      grant usage on schema vault to postgres with grant option;
      grant select, delete, truncate, references on vault.secrets, vault.decrypted_secrets to postgres with grant option;
      grant execute on function vault.create_secret(text, text, text, uuid),
                                vault.update_secret(uuid, text, text, text, uuid),
                                vault._crypto_aead_det_decrypt(bytea, bytea, bigint, bytea, bytea)
        to postgres with grant option;
    end if;
    if exists (select 1 from pg_catalog.pg_roles where rolname = 'service_role') then
      grant usage on schema vault to service_role;
      grant select, delete on vault.secrets, vault.decrypted_secrets to service_role;
      grant execute on function vault.create_secret(text, text, text, uuid),
                                vault.update_secret(uuid, text, text, text, uuid),
                                vault._crypto_aead_det_decrypt(bytea, bytea, bigint, bytea, bytea)
        to service_role;
    end if;
  end if;
end
$$;
