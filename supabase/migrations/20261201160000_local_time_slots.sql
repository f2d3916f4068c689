-- Each organisation's local time (docs/architecture.md, "Local time"; docs/supabase.md, "Schedules").
--
-- An organisation is evaluated at its own send hour (scheduler.delivery_config.send_hour, default 8) in its
-- own time zone (scheduler_source.organisations.timezone, default Europe/Oslo), for its own local date. The
-- organisations that share a time zone and a send hour form a slot, written "<zone>@<HH>", for example
-- "Europe/Oslo@08". A request may name a slot: it then evaluates only the mentors of that slot's
-- organisations, for the slot's local date.
--
-- * The slot is a checkpoint-key dimension beside the shard: each (date, scenario, slot) has its own layout
--   of shards, leases and cursors. Existing rows and slot-less runs have slot '' (the whole project, exactly
--   as before). The functions without a slot argument are the whole project.
-- * The notifications' idempotency keys and cooldowns do not know slots: a slot run and a whole-project run
--   of the same date cannot notify a mentor twice.
-- * scheduler.due_slots(now) says which slots have reached their local send hour on their local date and are
--   not yet complete for it (the hourly job of 20261201160100_local_time_schedules.sql queues one request
--   per due slot); scheduler.next_local_runs(now) shows each organisation's next local run.
-- Safe to apply twice.

-- The send hour: the scheduler's own setting (not the app's), on the delivery policy's rows. The default row
-- holds the project's default (8: 08:00 local); an organisation's row overrides it, null inherits.
alter table scheduler.delivery_config add column if not exists send_hour integer;
do $$
begin
  if not exists (select 1 from pg_catalog.pg_constraint where conname = 'delivery_config_send_hour_range'
                 and conrelid = 'scheduler.delivery_config'::regclass) then
    alter table scheduler.delivery_config add constraint delivery_config_send_hour_range
      check (send_hour between 0 and 23);
  end if;
end
$$;
-- The default row's send hour. Not a constraint on the default row: an earlier migration, applied again,
-- inserts that row without one (and its insert is checked before its conflict is found).
update scheduler.delivery_config set send_hour = 8 where organisation_id is null and send_hour is null;
comment on column scheduler.delivery_config.send_hour is
  'The local hour (0-23) at which the hourly job evaluates the organisation (default row: 8). Null: the default row''s (null there too: 8).';

-- A slot as requests and checkpoints carry it: '' (the whole project) or "<IANA zone>@<HH>". The form only;
-- whether the zone exists is checked where it is used (the function loads it; due_slots skips unknown ones).
create or replace function scheduler.slot_form(p_slot text)
returns boolean
language sql immutable set search_path = ''
as $$
  select p_slot = ''
      or (pg_catalog.length(p_slot) <= 67
          and p_slot ~ '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}@([01][0-9]|2[0-3])$'
          and p_slot !~ '(^|/)\.')
$$;
revoke all on function scheduler.slot_form(text) from public;

create or replace function scheduler.check_slot(p_what text, p_slot text)
returns void
language plpgsql immutable set search_path = ''
as $$
begin
  if p_slot is null or not scheduler.slot_form(p_slot) then
    raise exception using errcode = '22023',
      message = pg_catalog.format('%s: slot must be "<time zone>@<HH>" (for example "Europe/Oslo@08") or empty, got %s',
                                  p_what, coalesce(pg_catalog.quote_literal(pg_catalog.left(p_slot, 40)), 'null'));
  end if;
end
$$;
revoke all on function scheduler.check_slot(text, text) from public;

-- Whether PostgreSQL can place a time in this time zone. (Not pg_timezone_names: it reads every zone file,
-- 60 ms a call.) An IANA name is what the contract asks for (docs/source-contract.md); a name PostgreSQL
-- knows and the function does not (an abbreviation such as PST) makes the slot's runs answer 400, which
-- the watchdog reports.
create or replace function scheduler.zone_known(p_zone text)
returns boolean
language plpgsql stable set search_path = ''
as $$
begin
  if p_zone is null or p_zone = '' then
    return false;
  end if;
  perform pg_catalog.now() at time zone p_zone;
  return true;
exception when invalid_parameter_value then
  return false;
end
$$;
revoke all on function scheduler.zone_known(text) from public;

-- Every organisation of the source with its time zone, send hour and slot. A missing or empty time zone is
-- Europe/Oslo; a missing send hour the default row's (8 if even that is missing).
create or replace function scheduler.organisation_slots()
returns table (organisation_id uuid, organisation text, time_zone text, send_hour integer, slot text)
language sql stable set search_path = ''
as $$
  select o.id, o.name, z.zone, h.hour, z.zone || '@' || pg_catalog.lpad(h.hour::text, 2, '0')
  from scheduler_source.organisations o
  cross join lateral (select coalesce(nullif(pg_catalog.btrim(o.timezone), ''), 'Europe/Oslo') as zone) z
  cross join lateral (
    select coalesce((select c.send_hour from scheduler.delivery_config c where c.organisation_id = o.id),
                    (select c.send_hour from scheduler.delivery_config c where c.organisation_id is null),
                    8) as hour) h
$$;
comment on function scheduler.organisation_slots() is
  'Each organisation''s time zone, send hour and slot ("<zone>@<HH>"): when and for which local date it is evaluated.';
revoke all on function scheduler.organisation_slots() from public;

-- The organisations of a slot ('' : null, meaning every organisation).
create or replace function scheduler.slot_organisations(p_slot text)
returns uuid[]
language sql stable set search_path = ''
as $$
  select case when p_slot = '' then null
              else coalesce((select pg_catalog.array_agg(s.organisation_id) from scheduler.organisation_slots() s
                             where s.slot = p_slot), '{}') end
$$;
revoke all on function scheduler.slot_organisations(text) from public;

-- Checkpoints: the key gains the slot ('' : the whole project, as every existing row).
alter table scheduler.checkpoints add column if not exists slot text not null default '';
do $$
begin
  if not exists (select 1 from pg_catalog.pg_constraint where conname = 'checkpoints_slot_valid'
                 and conrelid = 'scheduler.checkpoints'::regclass) then
    alter table scheduler.checkpoints add constraint checkpoints_slot_valid check (scheduler.slot_form(slot));
  end if;
  if not exists (select 1 from pg_catalog.pg_constraint c
                 join pg_catalog.pg_attribute a on a.attrelid = c.conrelid and a.attnum = any (c.conkey)
                 where c.conrelid = 'scheduler.checkpoints'::regclass and c.contype = 'p' and a.attname = 'slot') then
    alter table scheduler.checkpoints drop constraint checkpoints_pkey;
    alter table scheduler.checkpoints add constraint checkpoints_pkey
      primary key (evaluation_date, scenario, slot, shards, shard);
  end if;
end
$$;
comment on column scheduler.checkpoints.slot is
  'The slot ("<zone>@<HH>") whose organisations this row evaluates; '''' for the whole project.';

-- Whether a slot's evaluation of a date is complete: every enabled scenario has a complete layout (all its
-- shards done) either for the slot or for the whole project ('' : the whole project's own).
create or replace function scheduler.slot_done(p_date date, p_slot text)
returns boolean
language sql stable set search_path = ''
as $$
  select not exists (
    select 1 from scheduler.enabled_scenarios() e
    where not exists (
      select 1 from scheduler.checkpoints c
      where c.evaluation_date = p_date and c.scenario = e.scenario and c.slot in ('', p_slot)
      group by c.slot, c.shards
      having pg_catalog.count(*) filter (where c.done) = c.shards))
$$;
revoke all on function scheduler.slot_done(date, text) from public;

-- The checkpoint functions of 20261201140000_sharded_fanout.sql with the slot, marked "[local time]". The
-- versions without a slot are the whole project (slot '').
create or replace function scheduler.claim_checkpoint_unchecked(
  p_run_id uuid, p_date date, p_scenario text, p_lease_ms integer, p_shard integer, p_shards integer, p_slot text)
returns table (outcome text, cursor uuid, evaluated integer, notified integer, shards integer)
language plpgsql security definer set search_path = ''
as $$
#variable_conflict use_column
declare
  cp      scheduler.checkpoints;
  v_other record;
begin
  -- One layout per date, scenario and slot. [local time]
  perform pg_catalog.pg_advisory_xact_lock(
    pg_catalog.hashtextextended('scheduler.checkpoints ' || p_date::text || ' ' || p_scenario
                                || case when p_slot = '' then '' else ' ' || p_slot end, 0));
  select c.shards as n, pg_catalog.count(*) filter (where c.done) as done_rows,
         coalesce(pg_catalog.sum(c.evaluated), 0)::integer as evaluated,
         coalesce(pg_catalog.sum(c.notified), 0)::integer as notified
  into v_other
  from scheduler.checkpoints c
  where c.evaluation_date = p_date and c.scenario = p_scenario and c.slot = p_slot  -- [local time]
    and c.shards <> p_shards
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

  insert into scheduler.checkpoints (evaluation_date, scenario, slot, shard, shards)  -- [local time]
  select p_date, p_scenario, p_slot, g, p_shards from pg_catalog.generate_series(1, p_shards) g
  on conflict do nothing;
  select * into cp from scheduler.checkpoints c
  where c.evaluation_date = p_date and c.scenario = p_scenario and c.slot = p_slot  -- [local time]
    and c.shards = p_shards and c.shard = p_shard
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
    where c.evaluation_date = p_date and c.scenario = p_scenario and c.slot = p_slot  -- [local time]
      and c.shards = p_shards and c.shard = p_shard;
    outcome := 'claimed';
  end if;
  cursor := cp.cursor;
  evaluated := cp.evaluated;
  notified := cp.notified;
  shards := p_shards;
  return next;
end
$$;
revoke all on function scheduler.claim_checkpoint_unchecked(uuid, date, text, integer, integer, integer, text) from public;

create or replace function scheduler.claim_checkpoint_unchecked(
  p_run_id uuid, p_date date, p_scenario text, p_lease_ms integer, p_shard integer, p_shards integer)
returns table (outcome text, cursor uuid, evaluated integer, notified integer, shards integer)
language sql security definer set search_path = ''
as $$
  select * from scheduler.claim_checkpoint_unchecked(p_run_id, p_date, p_scenario, p_lease_ms, p_shard, p_shards, '')
$$;

create or replace function scheduler.claim_checkpoint(
  p_run_id uuid, p_date date, p_scenario text, p_lease_ms integer, p_shard integer, p_shards integer, p_slot text)
returns table (outcome text, cursor uuid, evaluated integer, notified integer, shards integer)
language plpgsql security definer set search_path = ''
as $$
begin
  perform scheduler.check_date('claim_checkpoint', p_date);
  perform scheduler.check_scenario('claim_checkpoint', p_scenario);
  perform scheduler.check_range('claim_checkpoint: lease_ms', p_lease_ms, 0, 3600000);
  perform scheduler.check_shard('claim_checkpoint', p_shard, p_shards);
  perform scheduler.check_slot('claim_checkpoint', p_slot);  -- [local time]
  return query select * from scheduler.claim_checkpoint_unchecked(p_run_id, p_date, p_scenario, p_lease_ms,
                                                                  p_shard, p_shards, p_slot);
end
$$;
revoke all on function scheduler.claim_checkpoint(uuid, date, text, integer, integer, integer, text) from public;

create or replace function scheduler.claim_checkpoint(
  p_run_id uuid, p_date date, p_scenario text, p_lease_ms integer, p_shard integer, p_shards integer)
returns table (outcome text, cursor uuid, evaluated integer, notified integer, shards integer)
language sql security definer set search_path = ''
as $$
  select * from scheduler.claim_checkpoint(p_run_id, p_date, p_scenario, p_lease_ms, p_shard, p_shards, '')
$$;

create or replace function scheduler.release_checkpoint(
  p_run_id uuid, p_date date, p_scenario text, p_shard integer, p_shards integer, p_slot text)
returns void
language plpgsql security definer set search_path = ''
as $$
begin
  perform scheduler.check_date('release_checkpoint', p_date);
  perform scheduler.check_scenario('release_checkpoint', p_scenario);
  perform scheduler.check_shard('release_checkpoint', p_shard, p_shards);
  perform scheduler.check_slot('release_checkpoint', p_slot);  -- [local time]
  update scheduler.checkpoints c
  set lease_owner = null, lease_until = null, updated_at = pg_catalog.now()
  where c.evaluation_date = p_date and c.scenario = p_scenario and c.slot = p_slot  -- [local time]
    and c.shards = p_shards and c.shard = p_shard and c.lease_owner = p_run_id;
end
$$;
revoke all on function scheduler.release_checkpoint(uuid, date, text, integer, integer, text) from public;

create or replace function scheduler.release_checkpoint(
  p_run_id uuid, p_date date, p_scenario text, p_shard integer, p_shards integer)
returns void
language sql security definer set search_path = ''
as $$
  select scheduler.release_checkpoint(p_run_id, p_date, p_scenario, p_shard, p_shards, '')
$$;

create or replace function scheduler.release_checkpoint_unchecked(p_run_id uuid, p_date date, p_scenario text)
returns void
language sql security definer set search_path = ''
as $$
  update scheduler.checkpoints c
  set lease_owner = null, lease_until = null, updated_at = pg_catalog.now()
  where c.evaluation_date = p_date and c.scenario = p_scenario and c.slot = '' and c.shards = 1 and c.shard = 1
    and c.lease_owner = p_run_id
$$;

create or replace function scheduler.checkpoint_progress(
  p_date date, p_scenario text, p_shard integer, p_shards integer, p_slot text)
returns table (cursor uuid, evaluated integer, notified integer, done boolean)
language plpgsql stable security definer set search_path = ''
as $$
begin
  perform scheduler.check_shard('checkpoint_progress', p_shard, p_shards);
  perform scheduler.check_slot('checkpoint_progress', p_slot);  -- [local time]
  return query
  select c.cursor, c.evaluated, c.notified, c.done
  from scheduler.checkpoints c
  where c.evaluation_date = p_date and c.scenario = p_scenario and c.slot = p_slot  -- [local time]
    and c.shards = p_shards and c.shard = p_shard;
end
$$;
comment on function scheduler.checkpoint_progress(date, text, integer, integer, text) is
  'A slot''s shard''s checkpoint: cursor, counts and done flag, read without taking its lease (no row: nothing done yet).';
revoke all on function scheduler.checkpoint_progress(date, text, integer, integer, text) from public;

create or replace function scheduler.checkpoint_progress(p_date date, p_scenario text, p_shard integer, p_shards integer)
returns table (cursor uuid, evaluated integer, notified integer, done boolean)
language sql stable security definer set search_path = ''
as $$
  select * from scheduler.checkpoint_progress(p_date, p_scenario, p_shard, p_shards, '')
$$;

-- Active mentors of a slot's shard not yet evaluated after a cursor (null: from the shard's start).
create or replace function scheduler.remaining_mentors(p_after uuid, p_shard integer, p_shards integer, p_slot text)
returns bigint
language plpgsql stable security definer set search_path = ''
as $$
declare
  b      record;
  n      bigint;
  v_orgs uuid[];
begin
  perform scheduler.check_slot('remaining_mentors', p_slot);
  select * into b from scheduler.shard_bounds(p_shard, p_shards);
  v_orgs := scheduler.slot_organisations(p_slot);  -- [local time] null: every organisation
  select pg_catalog.count(*) into n from scheduler_source.peer_mentors m
  where m.status = 'active' and m.id > coalesce(p_after, b.lower) and m.id <= b.upper
    and (v_orgs is null or m.organisation_id = any (v_orgs));  -- [local time]
  return n;
end
$$;
revoke all on function scheduler.remaining_mentors(uuid, integer, integer, text) from public;

create or replace function scheduler.remaining_mentors(p_after uuid, p_shard integer, p_shards integer)
returns bigint
language sql stable security definer set search_path = ''
as $$
  select scheduler.remaining_mentors(p_after, p_shard, p_shards, '')
$$;
