-- TEST ONLY. Stand-ins for pg_net and Supabase Vault, which are not packaged for Debian, with the SQL
-- signatures the scheduler uses. The Go tests load this file into their own databases where the real
-- extensions are missing; where pg_net or supabase_vault is installed the tests use the real ones.
-- Never apply it to a real project, and never copy it into a migration.
--
-- net.http_post records the request in net.http_request_queue (the table pg_net queues requests in) and
-- returns its id; nothing is sent. The tests play pg_net's worker: they send the queued request and write
-- the answer into net._http_response, as the worker does.
-- vault.create_secret / vault.update_secret / vault.decrypted_secrets keep secrets in clear text.

set client_min_messages = warning;

do $$
begin
  if pg_catalog.to_regnamespace('net') is null then
    create schema net;
    comment on schema net is 'TEST STAND-IN for pg_net';
    create table net.http_request_queue (
      id                   bigserial primary key,
      method               text not null,
      url                  text not null,
      headers              jsonb not null,
      body                 bytea,
      timeout_milliseconds integer not null
    );
    create table net._http_response (
      id           bigint,
      status_code  integer,
      content_type text,
      headers      jsonb,
      content      text,
      timed_out    boolean,
      error_msg    text,
      created      timestamptz not null default now()
    );
    create function net.http_post(
      url text,
      body jsonb default '{}'::jsonb,
      params jsonb default '{}'::jsonb,
      headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
      timeout_milliseconds integer default 5000)
    returns bigint
    language sql volatile
    as $f$
      insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
      values ('POST', url, headers, pg_catalog.convert_to(body::text, 'UTF8'), timeout_milliseconds)
      returning id
    $f$;
  end if;

  if pg_catalog.to_regnamespace('vault') is null then
    create schema vault;
    comment on schema vault is 'TEST STAND-IN for supabase_vault';
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
    create view vault.decrypted_secrets as
      select id, name, description, secret, secret as decrypted_secret, key_id, nonce, created_at, updated_at
      from vault.secrets;
    create function vault.create_secret(
      new_secret text, new_name text default null, new_description text default '', new_key_id uuid default null)
    returns uuid
    language sql volatile
    as $f$
      insert into vault.secrets (secret, name, description, key_id)
      values (new_secret, new_name, coalesce(new_description, ''), new_key_id)
      returning id
    $f$;
    create function vault.update_secret(
      secret_id uuid, new_secret text default null, new_name text default null,
      new_description text default null, new_key_id uuid default null)
    returns void
    language sql volatile
    as $f$
      update vault.secrets
      set secret = coalesce(new_secret, secret), name = coalesce(new_name, name),
          description = coalesce(new_description, description), key_id = coalesce(new_key_id, key_id),
          updated_at = now()
      where id = secret_id
    $f$;
    revoke all on schema vault from public;
    -- As on Supabase: Vault's functions are not PUBLIC's.
    revoke all on function vault.create_secret(text, text, text, uuid) from public;
    revoke all on function vault.update_secret(uuid, text, text, text, uuid) from public;
  end if;
end
$$;
