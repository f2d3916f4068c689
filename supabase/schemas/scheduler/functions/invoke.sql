-- Function scheduler.invoke, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.invoke(scenarios text[] DEFAULT NULL::text[], job text DEFAULT NULL::text, dry_run boolean DEFAULT false, shards integer DEFAULT 1, slot text DEFAULT NULL::text, evaluation_date date DEFAULT NULL::date) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
declare
  -- Longer than the function's 30 s budget plus cold start, so pg_net records the answer, not a timeout.
  c_timeout_ms constant integer := 45000;
  v_url     text;
  v_queued_url text;
  v_secret  text;
  v_ts      text;
  v_nonce   text;
  v_path    text;
  v_caller  text;
  v_body    jsonb;
  v_headers jsonb;
  v_foreign text;
  v_id      bigint;
  v_exact   boolean;
  v_first   bigint;
  v_base    jsonb;  -- [lint] no "k integer": the loop below declares its own k
begin
  if pg_catalog.to_regclass('vault.decrypted_secrets') is null then
    raise exception 'scheduler.invoke: Supabase Vault is not installed (vault.decrypted_secrets is missing)'
      using errcode = '55000', hint = 'Enable the supabase_vault extension, then store the function URL and secret in Vault.';
  end if;
  if pg_catalog.to_regclass('net.http_request_queue') is null or pg_catalog.to_regclass('net._http_response') is null then
    raise exception 'scheduler.invoke: pg_net is not installed (its queue net.http_request_queue is missing)'
      using errcode = '55000',
            hint = 'pg_net must be in shared_preload_libraries (then restart the server); then: create extension pg_net with schema extensions;';
  end if;

  -- No trigger can be added to pg_net's tables until this transaction ends: CREATE TRIGGER needs a lock
  -- that conflicts with ROW EXCLUSIVE.
  lock table net.http_request_queue, net._http_response in row exclusive mode;
  perform scheduler.ensure_net_guard();
  v_foreign := scheduler.foreign_net_triggers();
  if v_foreign is not null then
    raise exception 'scheduler.invoke: refusing to queue: pg_net''s tables carry triggers the scheduler does not expect: %', v_foreign
      using errcode = '55000',
            hint = 'A trigger on pg_net''s queue runs with the rights of whoever queues a request, and this function reads Vault. '
                   'Find out who created it, and drop it as the owner of schema net.';
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

  -- [sharded fan-out] 1 to 64 shards; checked before anything is queued.
  if shards is null or shards < 1 or shards > 64 then
    raise exception 'scheduler.invoke: shards must be between 1 and 64, got %', coalesce(shards::text, 'null')
      using errcode = '22023';
  end if;
  -- [local time] a slot in the function's form, and a date; checked before anything is queued.
  if slot is not null and (slot = '' or not scheduler.slot_form(slot)) then
    raise exception 'scheduler.invoke: slot must be "<time zone>@<HH>" (for example "Europe/Oslo@08"), got %',
      pg_catalog.quote_literal(pg_catalog.left(slot, 40)) using errcode = '22023';
  end if;
  if job is not null and job !~ '^[A-Za-z0-9._-]{1,64}$' then
    raise exception 'scheduler.invoke: job must be 1 to 64 characters of A-Z, a-z, 0-9, ''.'', ''-'' and ''_'''
      using errcode = '22023';
  end if;
  if job is not null then
    v_body := pg_catalog.jsonb_build_object('trigger', 'cron', 'job', job);
  else
    -- The role that called, in the characters the function accepts (others become '_').
    v_caller := pg_catalog.left(pg_catalog.regexp_replace(session_user::text, '[^A-Za-z0-9._-]', '_', 'g'), 64);
    v_body := pg_catalog.jsonb_build_object('trigger', 'manual', 'caller', coalesce(nullif(v_caller, ''), 'unknown'));
  end if;
  if scenarios is not null then
    v_body := v_body || pg_catalog.jsonb_build_object('scenarios', pg_catalog.to_jsonb(scenarios));
  end if;
  if dry_run then
    v_body := v_body || pg_catalog.jsonb_build_object('dry_run', true);
  end if;
  if slot is not null then  -- [local time]
    v_body := v_body || pg_catalog.jsonb_build_object('slot', slot);
  end if;
  if evaluation_date is not null then  -- [local time]
    v_body := v_body || pg_catalog.jsonb_build_object('evaluation_date', pg_catalog.to_char(evaluation_date, 'YYYY-MM-DD'));
  end if;

  -- [sharded fan-out] One signed request per shard, in one transaction: pg_net sends none of them unless all are queued.
  v_base := v_body;
  for k in 1 .. shards loop
    -- Signature v2 over the timestamp, a random nonce, the method, the URL's path and the body's meaning
    -- (scheduler.canonical_request); the function accepts it once, within 300 s.
    v_ts := pg_catalog.floor(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()))::bigint::text;
    v_nonce := pg_catalog.encode(extensions.gen_random_bytes(16), 'hex');
    v_path := coalesce(nullif(pg_catalog.substring(v_url, '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*([^?#]*)'), ''), '/');
    v_body := v_base;
    if shards > 1 then
      v_body := v_body || pg_catalog.jsonb_build_object('shard', k::text || '/' || shards::text);
    end if;
    v_headers := pg_catalog.jsonb_build_object(
        'Content-Type', 'application/json',
        'X-Scheduler-Timestamp', v_ts,
        'X-Scheduler-Nonce', v_nonce,
        'X-Scheduler-Signature', scheduler.request_signature(v_secret, v_ts, v_nonce, 'POST', v_path, v_body));

    v_id := net.http_post(
      url := v_url,
      body := v_body,
      params := '{}'::jsonb,
      headers := v_headers,
      timeout_milliseconds := c_timeout_ms);

    -- Exactly what was queued: one row, this URL, method, headers, body and timeout. pg_net stores the URL as
    -- curl normalises it (http://host becomes http://host/): compare with its own normalisation.
    v_queued_url := v_url;
    if pg_catalog.to_regprocedure('net._encode_url_with_params_array(text, text[])') is not null then
      v_queued_url := net._encode_url_with_params_array(v_url, '{}'::text[]);
    end if;
    select pg_catalog.count(*) = 1
           and pg_catalog.bool_and(q.method::text = 'POST' and q.url = v_queued_url and q.headers = v_headers
                                   and q.body = pg_catalog.convert_to(v_body::text, 'UTF8')
                                   and q.timeout_milliseconds = c_timeout_ms)
    into v_exact
    from net.http_request_queue q where q.id = v_id;
    if not coalesce(v_exact, false) then
      raise exception 'scheduler.invoke: request % in pg_net''s queue is not the request it queued; nothing was sent', v_id
        using errcode = '55000', hint = 'Something rewrote pg_net''s queue while the request was being queued.';
    end if;

    -- The date too, so that scheduler.partial_parts() can tell which date a request (a continuation) ran.
    insert into scheduler.invocations (request_id, trigger, job, scenarios, dry_run, shard, slot, evaluation_date)
    values (v_id, case when job is null then 'manual' else 'cron:' || job end, job, scenarios, coalesce(dry_run, false),
            v_body ->> 'shard', v_body ->> 'slot', evaluation_date);
    v_first := coalesce(v_first, v_id);
  end loop;
  return v_first;

end
$_$;

COMMENT ON FUNCTION scheduler.invoke(scenarios text[], job text, dry_run boolean, shards integer, slot text, evaluation_date date) IS 'Queues a signed POST to the scenario scheduler function (URL and secret from Vault), one per shard (all or none), optionally for one slot and date; returns the first pg_net request id and records each in scheduler.invocations. Cron jobs pass their job name; without one the call is recorded as manual:<role>. Refuses while pg_net''s tables carry unexpected triggers.';

REVOKE ALL ON FUNCTION scheduler.invoke(scenarios text[], job text, dry_run boolean, shards integer, slot text, evaluation_date date) FROM PUBLIC;
