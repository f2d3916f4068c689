-- The daily schedule: pg_cron calls scheduler.invoke(), which reads the function's URL and secret from
-- Supabase Vault at call time and queues a signed POST with pg_net.
--
-- No secret is in this file, in cron.job.command or in cron.job_run_details: the job's command is
-- `select scheduler.invoke(null, 'scenario-scheduler-daily')`, and the request pg_net queues carries a
-- short-lived HMAC signature (X-Scheduler-Timestamp, X-Scheduler-Nonce, X-Scheduler-Signature; v2 since
-- 20261201090000_signed_requests.sql), never the secret itself.
--
-- Works with and without pg_net, Vault and pg_cron: each extension is created only where it is available
-- and loadable (a NOTICE says why not), and the job is scheduled only in the database pg_cron runs in
-- (cron.database_name). scheduler.invoke() raises a clear error when something it needs is missing.
-- scheduler.invoke() is redefined, hardened, in 20261201100000_invoke_guard.sql.
-- Safe to apply twice: the job is scheduled only where the project has no scheduler job yet.

-- pgcrypto for hmac(), in schema extensions as on Supabase (where it already exists).
create extension if not exists pgcrypto with schema extensions;

-- pg_net and Vault are created only where they are installed AND loadable: a package that is installed but
-- not in shared_preload_libraries (pg_net refuses to be created then), or a role not allowed to create
-- them, gives a NOTICE saying why instead of failing the migration; scheduler.invoke() then says what is
-- missing. pg_net goes in schema extensions (its objects are in schema net), never in public.
do $$
declare
  v_preload text;
begin
  begin
    v_preload := pg_catalog.replace(pg_catalog.current_setting('shared_preload_libraries'), ' ', '');
  exception when insufficient_privilege then
    v_preload := null; -- not readable by this role: try, and report a failure
  end;
  if exists (select 1 from pg_catalog.pg_extension where extname = 'pg_net') then
    null;
  elsif not exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_net') then
    raise notice 'pg_net is not installed on this server: not created (scheduler.invoke() cannot queue requests without it)';
  elsif v_preload is not null and not ('pg_net' = any(pg_catalog.string_to_array(v_preload, ','))) then
    raise notice 'pg_net is installed but not in shared_preload_libraries: not created. Add it there, restart, then: create extension pg_net with schema extensions;';
  else
    begin
      create extension if not exists pg_net with schema extensions;
    exception when others then
      raise notice 'pg_net not created: % (scheduler.invoke() cannot queue requests without it)', sqlerrm;
    end;
  end if;
  if exists (select 1 from pg_catalog.pg_available_extensions where name = 'supabase_vault')
     and not exists (select 1 from pg_catalog.pg_extension where extname = 'supabase_vault') then
    begin
      create extension if not exists supabase_vault;
    exception when others then
      raise notice 'supabase_vault not created: % (scheduler.invoke() cannot read its URL and secret without it)', sqlerrm;
    end;
  end if;
  -- pg_cron can only be created in the database named by cron.database_name (the setting exists only when
  -- pg_cron is preloaded).
  if exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_cron')
     and not exists (select 1 from pg_catalog.pg_extension where extname = 'pg_cron')
     and pg_catalog.current_setting('cron.database_name', true) = pg_catalog.current_database() then
    begin
      create extension if not exists pg_cron;
    exception when others then
      raise notice 'pg_cron not created: % (the daily job is not scheduled)', sqlerrm;
    end;
  end if;
end
$$;

-- Queues one signed POST to the scheduler function and returns pg_net's request id (look it up in
-- net._http_response to see what the function answered). scenarios limits the run (null: every enabled
-- scenario); job names the cron job in the body, so the report says trigger "cron:<job>".
--
-- Vault secrets (create them once per project, see docs/supabase.md):
--   scenario_scheduler_url     the function's URL
--   scenario_scheduler_secret  the shared secret (SCHEDULER_SECRET of the function)
create or replace function scheduler.invoke(
  scenarios text[] default null, job text default 'scenario-scheduler-daily')
returns bigint
language plpgsql volatile security definer set search_path = ''
as $$
declare
  -- Longer than the function's 30 s budget plus cold start, so pg_net records the answer, not a timeout.
  c_timeout_ms constant integer := 45000;
  v_url    text;
  v_secret text;
  v_ts     text;
  v_body   jsonb;
begin
  if pg_catalog.to_regclass('vault.decrypted_secrets') is null then
    raise exception 'scheduler.invoke: Supabase Vault is not installed (vault.decrypted_secrets is missing)'
      using errcode = '55000', hint = 'Enable the supabase_vault extension, then store the function URL and secret in Vault.';
  end if;
  if pg_catalog.to_regnamespace('net') is null then
    raise exception 'scheduler.invoke: pg_net is not installed (schema net is missing)'
      using errcode = '55000', hint = 'Enable the pg_net extension: create extension pg_net;';
  end if;

  select s.decrypted_secret into v_url
  from vault.decrypted_secrets s where s.name = 'scenario_scheduler_url'
  order by s.created_at desc limit 1;
  select s.decrypted_secret into v_secret
  from vault.decrypted_secrets s where s.name = 'scenario_scheduler_secret'
  order by s.created_at desc limit 1;

  if v_url is null or v_url = '' then
    raise exception 'scheduler.invoke: Vault secret "scenario_scheduler_url" is missing or empty'
      using errcode = '55000',
            hint = 'select vault.create_secret(''https://<your function URL>'', ''scenario_scheduler_url'');';
  end if;
  if v_secret is null or v_secret = '' then
    raise exception 'scheduler.invoke: Vault secret "scenario_scheduler_secret" is missing or empty'
      using errcode = '55000',
            hint = 'select vault.create_secret(''<SCHEDULER_SECRET of the function>'', ''scenario_scheduler_secret'');';
  end if;

  -- v1=<hex HMAC-SHA256(key = secret, message = 'v1:' || unix seconds)>. pg_net re-serialises the body,
  -- so the signature covers the timestamp only; the function accepts it for a few minutes.
  v_ts := pg_catalog.floor(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()))::bigint::text;
  v_body := pg_catalog.jsonb_build_object('trigger', 'cron', 'job', coalesce(job, 'scenario-scheduler-daily'));
  if scenarios is not null then
    v_body := v_body || pg_catalog.jsonb_build_object('scenarios', pg_catalog.to_jsonb(scenarios));
  end if;

  return net.http_post(
    url := v_url,
    body := v_body,
    params := '{}'::jsonb,
    headers := pg_catalog.jsonb_build_object(
      'Content-Type', 'application/json',
      'X-Scheduler-Timestamp', v_ts,
      'X-Scheduler-Signature',
        'v1=' || pg_catalog.encode(extensions.hmac('v1:' || v_ts, v_secret, 'sha256'), 'hex')),
    timeout_milliseconds := c_timeout_ms);
end
$$;
comment on function scheduler.invoke(text[], text) is
  'Queues a signed POST to the scenario scheduler function (URL and secret from Vault); returns the pg_net request id.';
revoke all on function scheduler.invoke(text[], text) from public;

-- The daily job, where pg_cron runs in this database: the default schedule. 06:00 UTC = 07:00 in Norway in
-- winter (CET), 08:00 in summer (CEST). Only where no scheduler job exists yet: applied again, it neither
-- resets an operator's schedule nor adds a daily job beside one the operator chose (the hourly job of
-- scheduler.schedule_hourly(), a split).
do $$
declare
  v_exists boolean;
begin
  if pg_catalog.to_regnamespace('cron') is not null then
    execute 'select exists (select 1 from cron.job where jobname like $1)' into v_exists using 'scenario-scheduler-%';
    if not v_exists then
      -- The job passes its own name: a call without one is recorded as a manual call.
      perform cron.schedule('scenario-scheduler-daily', '0 6 * * *',
                            'select scheduler.invoke(null, ''scenario-scheduler-daily'')');
    end if;
  end if;
end
$$;
