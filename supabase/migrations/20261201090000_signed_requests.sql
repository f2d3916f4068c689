-- Signed requests, v2: the signature binds the whole request and is accepted once.
--
-- * scheduler.canonical_request() is the message the signature covers: the timestamp, a random nonce, the
--   method, the path and every body field that changes behaviour, computed from the jsonb body (pg_net
--   re-serialises the body, so it signs what the request means, not its bytes). The function's Go verifier
--   (adapters/httpfn, Canonical) computes the same text from the decoded body.
-- * scheduler.request_signature() is 'v2=' || hex HMAC-SHA256(key = secret, message = canonical).
-- * scheduler.used_signatures remembers (a digest of) every accepted signature until its timestamp plus the
--   300 s window;
--   scheduler.claim_signature(), called by the function's role through the store, inserts one and answers
--   false for a signature already used (a replay). Rows are pruned as new ones arrive.
-- * scheduler.invoke() signs v2 and takes the job name as an argument: the cron jobs pass theirs, and a call
--   without one (by hand) is trigger "manual" with the database role that made it, never a cron job's name.
--   The cron jobs that called scheduler.invoke() without a job name are updated to pass it.
-- Safe to apply twice.

-- It keeps a SHA-256 digest of each signature, not the signature: nothing in the database can be copied
-- into a request header.
create table if not exists scheduler.used_signatures (
  signature_sha256 text primary key check (signature_sha256 ~ '^[0-9a-f]{64}$'),
  expires_at       timestamptz not null
);
create index if not exists used_signatures_expires_at on scheduler.used_signatures (expires_at);
comment on table scheduler.used_signatures is
  'SHA-256 of the signatures of signed calls already accepted, kept until they expire (timestamp + 300 s): a replay is refused.';
alter table scheduler.used_signatures enable row level security;
revoke all on table scheduler.used_signatures from public;

-- The canonical form of a signed request (see adapters/httpfn Canonical and docs/adapters.md). A body field
-- the signature does not cover, or a field of the wrong type, raises 22023: the signer refuses to sign what
-- the verifier would refuse.
create or replace function scheduler.canonical_request(
  p_timestamp text, p_nonce text, p_method text, p_path text, p_body jsonb)
returns text
language plpgsql immutable set search_path = ''
as $$
declare
  v_body      jsonb := coalesce(p_body, '{}'::jsonb);
  v_key       text;
  v_type      text;
  v_scenarios text := '';
begin
  if pg_catalog.jsonb_typeof(v_body) <> 'object' then
    raise exception 'canonical_request: the body must be a JSON object' using errcode = '22023';
  end if;
  for v_key in select pg_catalog.jsonb_object_keys(v_body) loop
    if v_key not in ('evaluation_date', 'scenarios', 'dry_run', 'deliver_only', 'trigger', 'job', 'caller') then
      raise exception 'canonical_request: body field % is not covered by the signature',
        pg_catalog.quote_literal(pg_catalog.left(v_key, 32)) using errcode = '22023';
    end if;
    v_type := case when v_key in ('dry_run', 'deliver_only') then 'boolean'
                   when v_key = 'scenarios' then 'array'
                   else 'string' end;
    if pg_catalog.jsonb_typeof(v_body -> v_key) <> v_type then
      raise exception 'canonical_request: body field % has the wrong type', v_key using errcode = '22023';
    end if;
  end loop;
  if v_body ? 'scenarios' then
    if exists (select 1 from pg_catalog.jsonb_array_elements(v_body -> 'scenarios') e
               where pg_catalog.jsonb_typeof(e) <> 'string') then
      raise exception 'canonical_request: scenarios must be an array of strings' using errcode = '22023';
    end if;
    select coalesce(pg_catalog.string_agg(e, ',' order by i), '') into v_scenarios
    from pg_catalog.jsonb_array_elements_text(v_body -> 'scenarios') with ordinality as t(e, i);
  end if;
  return pg_catalog.array_to_string(array[
    'v2',
    coalesce(p_timestamp, ''),
    coalesce(p_nonce, ''),
    pg_catalog.upper(coalesce(p_method, '')),
    coalesce(nullif(p_path, ''), '/'),
    'deliver_only=' || case when v_body -> 'deliver_only' = 'true'::jsonb then 'true' else 'false' end,
    'dry_run=' || case when v_body -> 'dry_run' = 'true'::jsonb then 'true' else 'false' end,
    'evaluation_date=' || coalesce(v_body ->> 'evaluation_date', ''),
    'job=' || coalesce(v_body ->> 'job', ''),
    'scenarios=' || v_scenarios,
    'trigger=' || coalesce(v_body ->> 'trigger', ''),
    'caller=' || coalesce(v_body ->> 'caller', '')], E'\n');
end
$$;
comment on function scheduler.canonical_request(text, text, text, text, jsonb) is
  'The text a v2 request signature covers: timestamp, nonce, method, path and every body field that changes behaviour.';
revoke all on function scheduler.canonical_request(text, text, text, text, jsonb) from public;

-- 'v2=' || lowercase hex HMAC-SHA256(key = secret, message = canonical_request(...)).
create or replace function scheduler.request_signature(
  p_secret text, p_timestamp text, p_nonce text, p_method text, p_path text, p_body jsonb)
returns text
language sql stable set search_path = ''
as $$
  select 'v2=' || pg_catalog.encode(extensions.hmac(
    scheduler.canonical_request(p_timestamp, p_nonce, p_method, p_path, p_body), p_secret, 'sha256'), 'hex')
$$;
comment on function scheduler.request_signature(text, text, text, text, text, jsonb) is
  'The X-Scheduler-Signature of a request: v2= and the hex HMAC-SHA256 of scheduler.canonical_request().';
revoke all on function scheduler.request_signature(text, text, text, text, text, jsonb) from public;

-- Accepts a signature once: true when it is new (and now recorded until p_expires_at), false when it was
-- already used. p_expires_at is the signature's timestamp plus the 300 s window, so it must lie between now
-- and now + 600 s; a malformed signature or an expiry outside that range raises 22023. Expired rows are
-- pruned on the way. A row is only pruned once its expiry has passed by this database's clock, and a later
-- claim of the same signature then fails the expiry check, so a pruned signature cannot be replayed.
create or replace function scheduler.claim_signature(p_signature text, p_expires_at timestamptz)
returns boolean
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_now timestamptz := pg_catalog.clock_timestamp();
begin
  if p_signature is null or p_signature !~ '^v2=[0-9a-f]{64}$' then
    raise exception 'claim_signature: the signature must be v2= and 64 lowercase hex digits' using errcode = '22023';
  end if;
  if p_expires_at is null or p_expires_at <= v_now or p_expires_at > v_now + interval '600 seconds' then
    raise exception 'claim_signature: the signature''s expiry is outside the 300 s window' using errcode = '22023';
  end if;
  delete from scheduler.used_signatures where expires_at < v_now;
  insert into scheduler.used_signatures (signature_sha256, expires_at)
  values (pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(p_signature, 'UTF8')), 'hex'), p_expires_at)
  on conflict (signature_sha256) do nothing;
  return found;
end
$$;
comment on function scheduler.claim_signature(text, timestamptz) is
  'Records a signed call''s signature until it expires; false when it was already used (a replay).';
revoke all on function scheduler.claim_signature(text, timestamptz) from public;
grant execute on function scheduler.claim_signature(text, timestamptz) to scenario_scheduler;

-- scheduler.invoke() signs with scheduler.request_signature(); it is defined, with the job or caller in the
-- body, in 20261201110000_scheduler_invocations.sql.

-- Back to the single daily job at p_schedule (UTC): removes the per-scenario and catch-up jobs. The job
-- passes its name, so its runs read cron:scenario-scheduler-daily.
create or replace function scheduler.schedule_daily(p_schedule text default '0 6 * * *')
returns table (jobname text, schedule text, command text, active boolean)
language plpgsql volatile set search_path = ''
as $$
begin
  perform scheduler.require_cron();
  perform scheduler.unschedule_jobs(array(
    select j.jobname from scheduler.cron_jobs() j where j.jobname <> 'scenario-scheduler-daily'));
  execute 'select cron.schedule($1, $2, $3)' using
    'scenario-scheduler-daily', p_schedule, 'select scheduler.invoke(null, ''scenario-scheduler-daily'')';
  return query select * from scheduler.cron_jobs();
end
$$;
revoke all on function scheduler.schedule_daily(text) from public;

-- Jobs scheduled before this migration call scheduler.invoke() without their name; now that would record
-- them as manual calls. Give each its name, keeping its schedule and whether it is active.
do $$
declare
  r record;
begin
  if pg_catalog.to_regnamespace('cron') is null then
    return;
  end if;
  for r in execute 'select j.jobid, j.jobname::text as jobname from cron.job j
                    where j.jobname like ''scenario-scheduler-%'' and j.command = ''select scheduler.invoke()''' loop
    begin
      execute 'select cron.alter_job(job_id := $1, command := $2)'
        using r.jobid, pg_catalog.format('select scheduler.invoke(null, %L)', r.jobname);
    exception when insufficient_privilege then
      raise warning 'cron job % belongs to another role: have its owner run select cron.alter_job(%, command := %L)',
        r.jobname, r.jobid, pg_catalog.format('select scheduler.invoke(null, %L)', r.jobname);
    end;
  end loop;
end
$$;
