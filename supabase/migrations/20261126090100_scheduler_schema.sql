-- The scenario scheduler's own tables: configuration, runs, checkpoints and the notifications it creates.
-- Idempotency and cooldown live here, in constraints, so that no writer (concurrent invocations, a manual
-- re-run, a catch-up job) can create a duplicate or break a cooldown, whatever the application does.
-- Safe to apply twice.

-- Supabase keeps extensions in their own schema; a plain PostgreSQL gets the same layout.
create schema if not exists extensions;
create extension if not exists btree_gist with schema extensions;

create schema if not exists scheduler;
comment on schema scheduler is 'Scenario scheduler internals. Not exposed through the Data API.';
revoke all on schema scheduler from public;

-- The source contract (docs/source-contract.md): the only way the scheduler reads the app. Five views with
-- fixed names, columns and types, created here as empty placeholders so that the scheduler's functions can be
-- created on any project; the operator replaces them with a mapping onto the app's own tables in a migration
-- of their own (supabase/reference/source_mapping.sql is the one for the reference schema). A run checks the
-- contract first (scheduler.check_source) and fails while it does not hold or yields no active mentor.
-- The scheduler's own tables keep mentor and organisation ids without foreign keys: views cannot be
-- referenced, and the app's tables are not the scheduler's to constrain.
-- Created only where missing: an operator's mapping survives a re-application.
create schema if not exists scheduler_source;
comment on schema scheduler_source is
  'Scenario scheduler source contract: views over the app''s tables. Not exposed through the Data API.';
revoke all on schema scheduler_source from public;
do $$
begin
  if pg_catalog.to_regclass('scheduler_source.organisations') is null then
    create view scheduler_source.organisations as
      select null::uuid as id, null::text as name, null::text as timezone where false;
  end if;
  if pg_catalog.to_regclass('scheduler_source.peer_mentors') is null then
    create view scheduler_source.peer_mentors as
      select null::uuid as id, null::uuid as organisation_id, null::text as full_name, null::text as status,
             null::text as locale, null::date as joined_on
      where false;
  end if;
  if pg_catalog.to_regclass('scheduler_source.activities') is null then
    create view scheduler_source.activities as
      select null::uuid as user_id, null::date as activity_date where false;
  end if;
  if pg_catalog.to_regclass('scheduler_source.certifications') is null then
    create view scheduler_source.certifications as
      select null::uuid as id, null::uuid as user_id, null::text as name, null::date as expires_at where false;
  end if;
  if pg_catalog.to_regclass('scheduler_source.device_tokens') is null then
    create view scheduler_source.device_tokens as
      select null::uuid as user_id, null::text as token, null::text as platform, null::boolean as disabled
      where false;
  end if;
end
$$;

create table if not exists scheduler.scenario_config (
  id                    bigint generated always as identity primary key,
  scenario              text not null check (scenario in ('inactivity', 'milestone', 'certification_expiry')),
  -- null: the project-wide default row; otherwise an override for one organisation.
  organisation_id       uuid,
  -- On an override row a null column inherits the default row's value; params are merged key by key.
  enabled               boolean,
  params                jsonb not null default '{}' check (jsonb_typeof(params) = 'object'),
  cooldown_days         integer check (cooldown_days >= 0),
  -- Higher runs first and, for delivery, wins a mentor's daily slot.
  priority              integer,
  last_evaluated_count  integer,
  last_duration_ms      integer,
  last_evaluated_at     timestamptz,
  constraint scenario_config_one_row unique nulls not distinct (scenario, organisation_id),
  constraint scenario_config_default_complete check (
    organisation_id is not null or (enabled is not null and cooldown_days is not null and priority is not null))
);
comment on table scheduler.scenario_config is
  'Per scenario: a default row (organisation_id null) and optional per-organisation overrides.';

insert into scheduler.scenario_config (scenario, enabled, params, cooldown_days, priority) values
  ('certification_expiry', true, '{"rungs": [30, 7, 1]}', 0, 30),
  ('milestone', true, '{"levels": [10, 25, 50, 100, 250]}', 0, 20),
  ('inactivity', true, '{"inactivity_days": 14}', 7, 10)
on conflict on constraint scenario_config_one_row do nothing;

create table if not exists scheduler.runs (
  id              uuid primary key,
  evaluation_date date not null,
  trigger         text not null,
  dry_run         boolean not null default false,
  status          text not null default 'running',
  started_at      timestamptz not null default now(),
  finished_at     timestamptz,
  duration_ms     integer,
  request         jsonb not null default '{}',
  report          jsonb
);
comment on table scheduler.runs is 'One row per invocation, with its report.';
create index if not exists runs_evaluation_date on scheduler.runs (evaluation_date, started_at);

create table if not exists scheduler.checkpoints (
  evaluation_date date not null,
  scenario        text not null,
  -- Keyset cursor: the last mentor id evaluated; null before the first batch.
  cursor          uuid,
  done            boolean not null default false,
  evaluated       integer not null default 0,
  notified        integer not null default 0,
  batches         integer not null default 0,
  -- The run that may advance this checkpoint, until lease_until; an expired lease can be taken over.
  lease_owner     uuid,
  lease_until     timestamptz,
  updated_at      timestamptz not null default now(),
  completed_at    timestamptz,
  primary key (evaluation_date, scenario)
);
comment on table scheduler.checkpoints is
  'Progress of one scenario on one evaluation date; advanced in the same transaction as the batch''s notifications.';

create table if not exists public.notifications (
  id              bigint generated always as identity primary key,
  user_id         uuid not null,
  organisation_id uuid not null,
  scenario        text not null,
  evaluation_date date not null,
  -- inactivity:<mentor>:<date>, milestone:<mentor>:<level>,
  -- certification_expiry:<mentor>:<certification>:<expiry date>:<rung>
  idempotency_key text not null,
  -- [evaluation_date, evaluation_date + cooldown_days); null when the scenario has no cooldown.
  cooldown_period daterange,
  priority        integer not null,
  data            jsonb not null default '{}',
  status          text not null default 'pending'
                  check (status in ('pending', 'sent', 'failed', 'suppressed')),
  run_id          uuid,
  created_at      timestamptz not null default now(),
  constraint notifications_idempotency_key unique (idempotency_key),
  -- A true cooldown: no two notifications of one mentor and scenario closer than the cooldown, whoever writes
  -- them. A unique key on a fixed bucket would let two land a day apart across a bucket boundary.
  constraint notifications_cooldown exclude using gist (
    user_id with =, scenario with =, cooldown_period with &&) where (cooldown_period is not null)
);
comment on table public.notifications is 'Notifications created by the scenario scheduler (in-app, and the push outbox).';
create index if not exists notifications_user_scenario on public.notifications (user_id, scenario);
