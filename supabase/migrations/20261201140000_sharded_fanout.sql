-- Sharded fan-out: one day's evaluation of a scenario split over N concurrent invocations (docs/supabase.md,
-- "Sharded fan-out"; docs/performance.md for when it pays).
--
-- A shard is a key range of mentor ids: shard k of N (k = 1..N, N = 1..64) covers the ids in (lower, upper]
-- of scheduler.shard_bounds(k, N), N equal slices of the uuid space cut on its first 32 bits. A range and not
-- a hash: each shard's batches stay a keyset walk over the primary key's index (m.id > cursor and m.id <= upper
-- order by m.id limit n), resumable from one cursor; a hash shard would read every mentor's row in every shard
-- and filter N-1 of N of them away. Mentor ids are random (gen_random_uuid), so equal slices hold about equal
-- numbers of mentors.
--
-- Each shard has its own checkpoint row (the key gains shard and shards; existing rows are shard 1 of 1: the
-- whole range, exactly as before), hence its own lease, cursor and resume. The first claim of a layout creates
-- the rows of all its shards, so a shard that never ran shows as not done. One (date, scenario) has one layout:
-- a claim with another shard count is answered 'done' when that layout is complete, 'layout' otherwise.
--
-- scheduler.invoke() gains shards (queue one signed request per shard, all or nothing); the signature covers
-- the shard (scheduler.canonical_request, adapters/httpfn Canonical: a line "shard=k/N" after the others, only
-- when the body names one, so unsharded requests are signed exactly as before). schedule_daily and
-- schedule_catch_up take a shard count.
-- Safe to apply twice.

-- Checkpoints: the key gains the shard.
alter table scheduler.checkpoints add column if not exists shard integer not null default 1;
alter table scheduler.checkpoints add column if not exists shards integer not null default 1;
do $$
begin
  if not exists (select 1 from pg_catalog.pg_constraint where conname = 'checkpoints_shard_valid'
                 and conrelid = 'scheduler.checkpoints'::regclass) then
    alter table scheduler.checkpoints add constraint checkpoints_shard_valid
      check (shards between 1 and 64 and shard between 1 and shards);
  end if;
  if (select pg_catalog.array_length(c.conkey, 1) from pg_catalog.pg_constraint c
      where c.conrelid = 'scheduler.checkpoints'::regclass and c.contype = 'p') = 2 then
    alter table scheduler.checkpoints drop constraint checkpoints_pkey;
    alter table scheduler.checkpoints add constraint checkpoints_pkey
      primary key (evaluation_date, scenario, shards, shard);
  end if;
end
$$;
comment on column scheduler.checkpoints.shard is 'Which shard of the mentor id space this row covers: shard of shards (1 of 1: all of it).';
comment on column scheduler.checkpoints.shards is 'How many shards this date''s scenario is split into (scheduler.shard_bounds).';

-- Shard k of N: a shard number and count in range, else 22023.
create or replace function scheduler.check_shard(p_what text, p_shard integer, p_shards integer)
returns void
language plpgsql immutable set search_path = ''
as $$
begin
  if p_shards is null or p_shards < 1 or p_shards > 64 or p_shard is null or p_shard < 1 or p_shard > p_shards then
    raise exception using errcode = '22023',
      message = pg_catalog.format('%s: shard must be k of N with 1 <= k <= N <= 64, got %s of %s',
                                  p_what, coalesce(p_shard::text, 'null'), coalesce(p_shards::text, 'null'));
  end if;
end
$$;
revoke all on function scheduler.check_shard(text, integer, integer) from public;

-- The ids of shard k of N: (lower, upper]. Cut points are k-1 / N of the uuid space on its first 32 bits;
-- shard 1's lower is the nil uuid and shard N's upper the largest uuid, so the shards of one N cover every id
-- but the nil uuid (which no walk ever included) exactly once.
create or replace function scheduler.shard_bounds(p_shard integer, p_shards integer)
returns table (lower uuid, upper uuid)
language plpgsql immutable set search_path = ''
as $$
begin
  perform scheduler.check_shard('shard_bounds', p_shard, p_shards);
  lower := (pg_catalog.lpad(pg_catalog.to_hex(((p_shard - 1)::bigint << 32) / p_shards), 8, '0')
            || '-0000-0000-0000-000000000000')::uuid;
  if p_shard = p_shards then
    upper := 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid;
  else
    upper := (pg_catalog.lpad(pg_catalog.to_hex((p_shard::bigint << 32) / p_shards), 8, '0')
              || '-0000-0000-0000-000000000000')::uuid;
  end if;
  return next;
end
$$;
comment on function scheduler.shard_bounds(integer, integer) is
  'The mentor ids of shard k of N: (lower, upper], equal slices of the uuid space on its first 32 bits.';
revoke all on function scheduler.shard_bounds(integer, integer) from public;

-- Takes the lease on one shard's checkpoint for one date and scenario.
-- outcome: 'claimed', 'busy' (another live run holds it), 'done', or 'layout' (this date's scenario is being
-- evaluated in another number of shards, given in shards; nothing was changed).
create or replace function scheduler.claim_checkpoint_unchecked(
  p_run_id uuid, p_date date, p_scenario text, p_lease_ms integer, p_shard integer, p_shards integer)
returns table (outcome text, cursor uuid, evaluated integer, notified integer, shards integer)
language plpgsql security definer set search_path = ''
as $$
#variable_conflict use_column
declare
  cp      scheduler.checkpoints;
  v_other record;
begin
  -- One layout per date and scenario: two first claims with different counts must not both create theirs.
  perform pg_catalog.pg_advisory_xact_lock(
    pg_catalog.hashtextextended('scheduler.checkpoints ' || p_date::text || ' ' || p_scenario, 0));
  select c.shards as n, pg_catalog.count(*) filter (where c.done) as done_rows,
         coalesce(pg_catalog.sum(c.evaluated), 0)::integer as evaluated,
         coalesce(pg_catalog.sum(c.notified), 0)::integer as notified
  into v_other
  from scheduler.checkpoints c
  where c.evaluation_date = p_date and c.scenario = p_scenario and c.shards <> p_shards
  group by c.shards
  limit 1;
  if found then
    outcome := case when v_other.done_rows = v_other.n then 'done' else 'layout' end;
    evaluated := v_other.evaluated;
    notified := v_other.notified;
    shards := v_other.n;
    return next;
    return;
  end if;

  insert into scheduler.checkpoints (evaluation_date, scenario, shard, shards)
  select p_date, p_scenario, g, p_shards from pg_catalog.generate_series(1, p_shards) g
  on conflict do nothing;
  select * into cp from scheduler.checkpoints c
  where c.evaluation_date = p_date and c.scenario = p_scenario and c.shards = p_shards and c.shard = p_shard
  for update;

  if cp.done then
    outcome := 'done';
  elsif cp.lease_owner is not null and cp.lease_owner <> p_run_id and cp.lease_until > pg_catalog.clock_timestamp() then
    outcome := 'busy';
  else
    update scheduler.checkpoints c
    set lease_owner = p_run_id,
        lease_until = pg_catalog.clock_timestamp() + pg_catalog.make_interval(secs => p_lease_ms / 1000.0),
        updated_at = pg_catalog.now()
    where c.evaluation_date = p_date and c.scenario = p_scenario and c.shards = p_shards and c.shard = p_shard;
    outcome := 'claimed';
  end if;
  cursor := cp.cursor;
  evaluated := cp.evaluated;
  notified := cp.notified;
  shards := p_shards;
  return next;
end
$$;
revoke all on function scheduler.claim_checkpoint_unchecked(uuid, date, text, integer, integer, integer) from public;

create or replace function scheduler.claim_checkpoint(
  p_run_id uuid, p_date date, p_scenario text, p_lease_ms integer, p_shard integer, p_shards integer)
returns table (outcome text, cursor uuid, evaluated integer, notified integer, shards integer)
language plpgsql security definer set search_path = ''
as $$
begin
  perform scheduler.check_date('claim_checkpoint', p_date);
  perform scheduler.check_scenario('claim_checkpoint', p_scenario);
  perform scheduler.check_range('claim_checkpoint: lease_ms', p_lease_ms, 0, 3600000);
  perform scheduler.check_shard('claim_checkpoint', p_shard, p_shards);
  return query select * from scheduler.claim_checkpoint_unchecked(p_run_id, p_date, p_scenario, p_lease_ms, p_shard, p_shards);
end
$$;
revoke all on function scheduler.claim_checkpoint(uuid, date, text, integer, integer, integer) from public;

-- The unsharded versions (a function deployed before this migration calls them) are the whole range, 1 of 1.
create or replace function scheduler.claim_checkpoint_unchecked(
  p_run_id uuid, p_date date, p_scenario text, p_lease_ms integer)
returns table (outcome text, cursor uuid, evaluated integer, notified integer)
language sql security definer set search_path = ''
as $$
  select case when c.outcome = 'layout' then 'busy' else c.outcome end, c.cursor, c.evaluated, c.notified
  from scheduler.claim_checkpoint_unchecked(p_run_id, p_date, p_scenario, p_lease_ms, 1, 1) c
$$;
revoke all on function scheduler.claim_checkpoint_unchecked(uuid, date, text, integer) from public;

-- Gives a shard's lease back.
create or replace function scheduler.release_checkpoint(
  p_run_id uuid, p_date date, p_scenario text, p_shard integer, p_shards integer)
returns void
language plpgsql security definer set search_path = ''
as $$
begin
  perform scheduler.check_date('release_checkpoint', p_date);
  perform scheduler.check_scenario('release_checkpoint', p_scenario);
  perform scheduler.check_shard('release_checkpoint', p_shard, p_shards);
  update scheduler.checkpoints c
  set lease_owner = null, lease_until = null, updated_at = pg_catalog.now()
  where c.evaluation_date = p_date and c.scenario = p_scenario and c.shards = p_shards and c.shard = p_shard
    and c.lease_owner = p_run_id;
end
$$;
revoke all on function scheduler.release_checkpoint(uuid, date, text, integer, integer) from public;

create or replace function scheduler.release_checkpoint_unchecked(p_run_id uuid, p_date date, p_scenario text)
returns void
language sql security definer set search_path = ''
as $$
  update scheduler.checkpoints c
  set lease_owner = null, lease_until = null, updated_at = pg_catalog.now()
  where c.evaluation_date = p_date and c.scenario = p_scenario and c.shards = 1 and c.shard = 1
    and c.lease_owner = p_run_id
$$;
revoke all on function scheduler.release_checkpoint_unchecked(uuid, date, text) from public;

-- A shard's checkpoint, read without its lease.
create or replace function scheduler.checkpoint_progress(p_date date, p_scenario text, p_shard integer, p_shards integer)
returns table (cursor uuid, evaluated integer, notified integer, done boolean)
language plpgsql stable security definer set search_path = ''
as $$
begin
  perform scheduler.check_shard('checkpoint_progress', p_shard, p_shards);
  return query
  select c.cursor, c.evaluated, c.notified, c.done
  from scheduler.checkpoints c
  where c.evaluation_date = p_date and c.scenario = p_scenario and c.shards = p_shards and c.shard = p_shard;
end
$$;
comment on function scheduler.checkpoint_progress(date, text, integer, integer) is
  'A shard''s checkpoint: cursor, counts and done flag, read without taking its lease (no row: nothing done yet).';
revoke all on function scheduler.checkpoint_progress(date, text, integer, integer) from public;

create or replace function scheduler.checkpoint_progress(p_date date, p_scenario text)
returns table (cursor uuid, evaluated integer, notified integer, done boolean)
language sql stable security definer set search_path = ''
as $$
  select * from scheduler.checkpoint_progress(p_date, p_scenario, 1, 1)
$$;

-- Active mentors of a shard not yet evaluated after a cursor (null: from the shard's start).
create or replace function scheduler.remaining_mentors(p_after uuid, p_shard integer, p_shards integer)
returns bigint
language plpgsql stable security definer set search_path = ''
as $$
declare
  b record;
  n bigint;
begin
  select * into b from scheduler.shard_bounds(p_shard, p_shards);
  -- [sharded fan-out] the walk is bounded by the shard's range.
  select pg_catalog.count(*) into n from scheduler_source.peer_mentors m
  where m.status = 'active' and m.id > coalesce(p_after, b.lower) and m.id <= b.upper;
  return n;
end
$$;
revoke all on function scheduler.remaining_mentors(uuid, integer, integer) from public;

create or replace function scheduler.remaining_mentors(p_after uuid)
returns bigint
language sql stable security definer set search_path = ''
as $$
  select scheduler.remaining_mentors(p_after, 1, 1)
$$;

-- scheduler.evaluate_batch for one shard: 20261201100200_evaluate_batch_checked.sql's definition with exactly
-- two changes, each marked "[sharded fan-out]": the mentor walk is bounded by the shard's range (lower, upper]
-- and the checkpoint it checks and advances is the shard's row. Shard 1 of 1 is the walk as before (lower is
-- the nil uuid, upper the largest uuid).
create or replace function scheduler.evaluate_batch(
  p_run_id uuid, p_scenario text, p_date date, p_after uuid, p_limit integer, p_dry_run boolean,
  p_shard integer, p_shards integer)
returns table (evaluated integer, candidates integer, notified integer, suppressed_cooldown integer,
               duplicates integer, conflicts integer, next_cursor uuid, done boolean)
language plpgsql security definer set search_path = ''
as $$
#variable_conflict use_column
declare
  v_after  uuid;
  v_upper  uuid;  -- [sharded fan-out] the shard's last id (inclusive)
  v_last   uuid;
  v_walked integer;
  v_fresh  integer;
  cp       scheduler.checkpoints;
begin
  -- The caller's inputs (see 20261201100200_evaluate_batch_checked.sql); then the scenarios the dispatch below knows.
  perform scheduler.check_date('evaluate_batch', p_date);
  perform scheduler.check_scenario('evaluate_batch', p_scenario);
  perform scheduler.check_range('evaluate_batch: batch limit', p_limit, 1, 100000);
  -- [sharded fan-out] the shard's range: (lower, upper]; the walk starts after lower.
  perform scheduler.check_shard('evaluate_batch', p_shard, p_shards);
  select coalesce(p_after, b.lower), b.upper into v_after, v_upper from scheduler.shard_bounds(p_shard, p_shards) b;
  if p_scenario not in ('inactivity', 'milestone', 'certification_expiry') then
    raise exception using errcode = '22023', message = format('unknown scenario %L', p_scenario);
  end if;

  if not p_dry_run then
    select * into cp from scheduler.checkpoints c
    where c.evaluation_date = p_date and c.scenario = p_scenario
      and c.shards = p_shards and c.shard = p_shard  -- [sharded fan-out] the checkpoint key
    for update;
    if not found or cp.lease_owner is distinct from p_run_id then
      raise exception using errcode = 'SC409', message = 'checkpoint lease is not held by this run';
    end if;
    if cp.cursor is distinct from p_after or cp.done then
      raise exception using errcode = 'SC409', message = 'checkpoint moved since it was claimed';
    end if;
  end if;

  select b.id, b.n into v_last, v_walked
  from (
    select m.id, row_number() over (order by m.id)::integer as n
    from scheduler_source.peer_mentors m
    where m.status = 'active' and m.id > v_after
      and m.id <= v_upper  -- [sharded fan-out] the walk's bound
    order by m.id
    limit p_limit
  ) b
  order by b.n desc
  limit 1;
  v_walked := coalesce(v_walked, 0);
  evaluated := 0;

  if v_walked > 0 then
    -- Evaluated: the batch's mentors of organisations where the scenario is enabled (the walk passes the
    -- others without evaluating them; before the source contract it counted them).
    select count(*)::integer into evaluated
    from scheduler_source.peer_mentors m
    where m.status = 'active' and m.id > v_after and m.id <= v_last
      and m.organisation_id in (select ec.organisation_id from scheduler.effective_config(p_scenario) ec
                                where ec.enabled);
  end if;

  if v_walked = 0 then
    candidates := 0; notified := 0; suppressed_cooldown := 0; duplicates := 0; conflicts := 0;
    next_cursor := p_after;
    done := true;
  else
    with cand as (
      select * from scheduler.inactivity_candidates(p_date, v_after, v_last) where p_scenario = 'inactivity'
      union all
      select * from scheduler.milestone_candidates(p_date, v_after, v_last) where p_scenario = 'milestone'
      union all
      select * from scheduler.certification_candidates(p_date, v_after, v_last)
      where p_scenario = 'certification_expiry'
    ),
    classified as (
      select c.*,
             dup.hit is not null as is_duplicate,
             cool.hit is not null as in_cooldown
      from cand c
      -- One probe of the unique key per candidate (never a scan of every notification).
      left join lateral (
        select 1 as hit from public.notifications d where d.idempotency_key = c.idempotency_key
      ) dup on true
      left join lateral (
        select 1 as hit
        from public.notifications n
        where c.cooldown_days > 0
          and n.user_id = c.user_id and n.scenario = p_scenario
          and n.cooldown_period && daterange(p_date, p_date + c.cooldown_days)
        limit 1
      ) cool on true
    ),
    ins as (
      insert into public.notifications (user_id, organisation_id, scenario, evaluation_date, idempotency_key,
                                        cooldown_period, priority, data, run_id)
      select c.user_id, c.organisation_id, p_scenario, p_date, c.idempotency_key,
             case when c.cooldown_days > 0 then daterange(p_date, p_date + c.cooldown_days) end,
             c.priority, c.data, p_run_id
      from classified c
      where not p_dry_run and not c.is_duplicate and not c.in_cooldown
      -- A concurrent writer got there first (same key, or a cooldown it opened): skip, never fail.
      on conflict do nothing
      returning 1
    )
    select count(*)::integer,
           (count(*) filter (where c.is_duplicate))::integer,
           (count(*) filter (where c.in_cooldown and not c.is_duplicate))::integer,
           (count(*) filter (where not c.is_duplicate and not c.in_cooldown))::integer,
           (select count(*) from ins)::integer
    into candidates, duplicates, suppressed_cooldown, v_fresh, notified
    from classified c;

    if p_dry_run then
      notified := v_fresh;
    end if;
    conflicts := v_fresh - notified;
    next_cursor := v_last;
    done := not exists (select 1 from scheduler_source.peer_mentors m where m.status = 'active' and m.id > v_last
                        and m.id <= v_upper);  -- [sharded fan-out] the walk's bound
  end if;

  if not p_dry_run then
    update scheduler.checkpoints c
    set cursor = next_cursor, done = evaluate_batch.done,
        evaluated = c.evaluated + evaluate_batch.evaluated, notified = c.notified + evaluate_batch.notified,
        batches = c.batches + 1, updated_at = now(),
        completed_at = case when evaluate_batch.done then now() end
    where c.evaluation_date = p_date and c.scenario = p_scenario
      and c.shards = p_shards and c.shard = p_shard;  -- [sharded fan-out] the checkpoint key
  end if;
  return next;
end
$$;

revoke all on function scheduler.evaluate_batch(uuid, text, date, uuid, integer, boolean, integer, integer) from public;

-- The unsharded version (called by a function deployed before this migration) is shard 1 of 1.
create or replace function scheduler.evaluate_batch(
  p_run_id uuid, p_scenario text, p_date date, p_after uuid, p_limit integer, p_dry_run boolean)
returns table (evaluated integer, candidates integer, notified integer, suppressed_cooldown integer,
               duplicates integer, conflicts integer, next_cursor uuid, done boolean)
language sql security definer set search_path = ''
as $$
  select * from scheduler.evaluate_batch(p_run_id, p_scenario, p_date, p_after, p_limit, p_dry_run, 1, 1)
$$;

-- What the function role may call: the sharded versions (the unsharded ones keep their grants).
grant execute on function scheduler.claim_checkpoint(uuid, date, text, integer, integer, integer) to scenario_scheduler;
grant execute on function scheduler.release_checkpoint(uuid, date, text, integer, integer) to scenario_scheduler;
grant execute on function scheduler.checkpoint_progress(date, text, integer, integer) to scenario_scheduler;
grant execute on function scheduler.remaining_mentors(uuid, integer, integer) to scenario_scheduler;
grant execute on function scheduler.evaluate_batch(uuid, text, date, uuid, integer, boolean, integer, integer) to scenario_scheduler;

-- The canonical form of a signed request (adapters/httpfn Canonical): 20261201090000_signed_requests.sql's with
-- the shard, marked "[sharded fan-out]".
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
  v_shard     text;
begin
  if pg_catalog.jsonb_typeof(v_body) <> 'object' then
    raise exception 'canonical_request: the body must be a JSON object' using errcode = '22023';
  end if;
  for v_key in select pg_catalog.jsonb_object_keys(v_body) loop
    if v_key not in ('evaluation_date', 'scenarios', 'dry_run', 'deliver_only', 'trigger', 'job', 'caller', 'shard') then
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
  -- [sharded fan-out] "k/N" as the function accepts it (engine.ParseShard): no leading zeros, 1 <= k <= N <= 64.
  if v_body ? 'shard' then
    v_shard := v_body ->> 'shard';
    if v_shard !~ '^[1-9][0-9]?/[1-9][0-9]?$'
       or pg_catalog.split_part(v_shard, '/', 1)::integer > pg_catalog.split_part(v_shard, '/', 2)::integer
       or pg_catalog.split_part(v_shard, '/', 2)::integer > 64 then
      raise exception 'canonical_request: shard must be "k/N" with 1 <= k <= N <= 64' using errcode = '22023';
    end if;
    if v_body -> 'deliver_only' = 'true'::jsonb then
      raise exception 'canonical_request: shard is only valid for an evaluation, not with deliver_only' using errcode = '22023';
    end if;
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
    'caller=' || coalesce(v_body ->> 'caller', '')]
    -- [sharded fan-out] one more line, only when the body names a shard: an unsharded request is signed as before.
    || case when v_shard is not null then array['shard=' || v_shard] else '{}'::text[] end, E'\n');
end
$$;
comment on function scheduler.canonical_request(text, text, text, text, jsonb) is
  'The text a v2 request signature covers: timestamp, nonce, method, path, every body field that changes behaviour, and the shard when there is one.';
revoke all on function scheduler.canonical_request(text, text, text, text, jsonb) from public;

-- scheduler.invoke(): 20261201110000_scheduler_invocations.sql's definition, every guard kept, plus shards
-- (marked "[sharded fan-out]"): it queues one signed request per shard, each naming "shard": "k/N" (none
-- when shards is 1: the request is exactly as before), all in the caller's transaction, and records each in
-- scheduler.invocations. It returns the first request's id. This is now its one definition.
alter table scheduler.invocations add column if not exists shard text;
comment on column scheduler.invocations.shard is 'The shard the request named ("k/N"), null for the whole range.';
-- The three-argument version becomes the four-argument one (same defaults, plus shards): the cron jobs'
-- commands resolve to it unchanged. A new signature does not inherit grants: none were given (owner only).
drop function if exists scheduler.invoke(text[], text, boolean);

create or replace function scheduler.invoke(
  scenarios text[] default null, job text default null, dry_run boolean default false, shards integer default 1)
returns bigint
language plpgsql volatile security definer set search_path = ''
as $$
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
  v_base    jsonb;
  k         integer;
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

    insert into scheduler.invocations (request_id, trigger, job, scenarios, dry_run, shard)
    values (v_id, case when job is null then 'manual' else 'cron:' || job end, job, scenarios, coalesce(dry_run, false),
            v_body ->> 'shard');
    v_first := coalesce(v_first, v_id);
  end loop;
  return v_first;

end
$$;
comment on function scheduler.invoke(text[], text, boolean, integer) is
  'Queues a signed POST to the scenario scheduler function (URL and secret from Vault), one per shard (all or none); returns the first pg_net request id and records each in scheduler.invocations. Cron jobs pass their job name; without one the call is recorded as manual:<role>. Refuses while pg_net''s tables carry unexpected triggers.';
revoke all on function scheduler.invoke(text[], text, boolean, integer) from public;

-- The cron command that invokes the function for a job, in p_shards shards (1: the command as before).
create or replace function scheduler.invoke_command(p_job text, p_shards integer)
returns text
language plpgsql immutable set search_path = ''
as $$
begin
  if p_shards is null or p_shards < 1 or p_shards > 64 then
    raise exception 'shards must be between 1 and 64, got %', coalesce(p_shards::text, 'null') using errcode = '22023';
  end if;
  if p_shards = 1 then
    return pg_catalog.format('select scheduler.invoke(null, %L)', p_job);
  end if;
  return pg_catalog.format('select scheduler.invoke(null, %L, false, %s)', p_job, p_shards);
end
$$;
revoke all on function scheduler.invoke_command(text, integer) from public;

-- schedule_daily and schedule_catch_up take a shard count (default 1: the jobs as before). Each call of the
-- job queues p_shards requests; give the catch-up job the same count as the daily one, since a date's
-- scenario keeps the layout its first call chose (see the top of this file).
drop function if exists scheduler.schedule_daily(text);
drop function if exists scheduler.schedule_catch_up(text);

-- Back to the single daily job at p_schedule (UTC): removes the per-scenario and catch-up jobs. The job
-- passes its name, so its runs read cron:scenario-scheduler-daily.
create or replace function scheduler.schedule_daily(p_schedule text default '0 6 * * *', p_shards integer default 1)
returns table (jobname text, schedule text, command text, active boolean)
language plpgsql volatile set search_path = ''
as $$
declare
  v_command text := scheduler.invoke_command('scenario-scheduler-daily', p_shards);
begin
  perform scheduler.require_cron();
  perform scheduler.unschedule_jobs(array(
    select j.jobname from scheduler.cron_jobs() j where j.jobname <> 'scenario-scheduler-daily'));
  execute 'select cron.schedule($1, $2, $3)' using 'scenario-scheduler-daily', p_schedule, v_command;
  return query select * from scheduler.cron_jobs();
end
$$;
revoke all on function scheduler.schedule_daily(text, integer) from public;

-- Adds scenario-scheduler-catch-up: re-invokes the function on p_schedule (UTC; default every 10 minutes
-- from 06:10 to 09:50), in p_shards shards. While today's run is partial, each call resumes it from its
-- checkpoints; once it is complete the function answers already_completed without evaluating anyone.
create or replace function scheduler.schedule_catch_up(p_schedule text default '10-50/10 6-9 * * *', p_shards integer default 1)
returns table (jobname text, schedule text, command text, active boolean)
language plpgsql volatile set search_path = ''
as $$
declare
  v_command text := scheduler.invoke_command('scenario-scheduler-catch-up', p_shards);
begin
  perform scheduler.require_cron();
  execute 'select cron.schedule($1, $2, $3)' using 'scenario-scheduler-catch-up', p_schedule, v_command;
  return query select * from scheduler.cron_jobs();
end
$$;
revoke all on function scheduler.schedule_catch_up(text, integer) from public;

-- scheduler.run_history (20261201110300_scheduler_retention_history.sql) with a date's shards summed into one
-- row per scenario, marked "[sharded fan-out]".
create or replace view scheduler.run_history with (security_invoker = true) as
with s as (select time_zone, (now() at time zone time_zone)::date as today from scheduler.ops_settings),
days as (
  select d::date as day, d::date::timestamp at time zone s.time_zone as day_from,
         (d::date + 1)::timestamp at time zone s.time_zone as day_to
  from s, generate_series(s.today - 13, s.today, interval '1 day') d
),
per_scenario as (
  select d.day, sc.scenario, sc.priority,
         case when cp.done then 'completed' when cp.scenario is not null then 'partial' else 'missing' end as status,
         coalesce(cp.evaluated, 0) as evaluated, coalesce(cp.notified, 0) as notified
  from days d
  cross join scheduler.enabled_scenarios() sc
  -- [sharded fan-out] one row per date and scenario: done when every shard is.
  left join (
    select c.evaluation_date, c.scenario, pg_catalog.bool_and(c.done) as done,
           pg_catalog.sum(c.evaluated)::bigint as evaluated, pg_catalog.sum(c.notified)::bigint as notified
    from scheduler.checkpoints c group by c.evaluation_date, c.scenario
  ) cp on cp.evaluation_date = d.day and cp.scenario = sc.scenario
)
select d.day,
       case when bool_and(p.status = 'completed') then 'completed'
            when bool_or(p.status <> 'missing') then 'partial'
            when r.runs > 0 then 'failed'
            else 'no run' end as status,
       string_agg(p.scenario || ' ' || p.status, ', ' order by p.priority desc, p.scenario) as scenarios,
       sum(p.evaluated)::bigint as evaluated,
       sum(p.notified)::bigint as notified,
       coalesce(r.runs, 0) as runs,
       r.duration_ms,
       scheduler.answer_summary(d.day_from, d.day_to) as answers,
       (select string_agg(a.problem, ', ' order by a.id) from scheduler.alerts a
        where a.day = d.day and a.resolved_at is null) as open_alerts
from days d
join per_scenario p on p.day = d.day
left join lateral (
  select count(*) as runs, sum(u.duration_ms)::bigint as duration_ms
  from scheduler.runs u where u.evaluation_date = d.day and not u.dry_run
) r on true
group by d.day, d.day_from, d.day_to, r.runs, r.duration_ms
order by d.day desc;
comment on view scheduler.run_history is
  'The last 14 local days: status per scenario, counts, run time, pg_net''s answers, open alerts (docs/operations.md).';
revoke all on table scheduler.run_history from public;
