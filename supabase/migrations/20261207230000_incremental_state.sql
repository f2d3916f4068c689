-- The incremental daily run's state (docs/architecture.md, "The incremental daily run"; docs/performance.md).
-- Tables written by hand; the functions that read and keep them follow in 20261207230100_incremental_run.sql.
--
-- * scheduler.mentor_state: per mentor, per scenario, a lower bound of the first date after its last
--   evaluation on which the scenario could fire if nothing changes; next_due is the earliest of them (indexed:
--   the incremental walk evaluates the mentors whose next_due has come, those with a change in the feed, and
--   those without a row). evaluated_on is the latest date that wrote the row: a backfill of an earlier date
--   evaluates the mentor and writes nothing. Owner-only, row-level security on, no grants.
-- * scheduler.state_reconciliations: per scenario and part (slot, shards, shard), the last full evaluation
--   that kept the state, and the state version it ran under. A part without a current row runs full.
-- * scheduler.state_invalidations: the state version: one row per configuration change (a statement trigger
--   on scenario_config and delivery_config) and per scheduler.reconcile() call.
-- * scheduler.checkpoints: the mode its first batch decided (mode, mode_reason), the state version, and the
--   repairs a reconciliation counted (state_repairs).
-- * scheduler.ops_settings.reconcile_days: how old a reconciliation may grow before the next run is full (7).
-- Works with and without pg_cron, pg_net and Vault. Safe to apply twice.

create table if not exists scheduler.mentor_state (
  user_id           uuid primary key,
  inactivity_due    date not null,
  milestone_due     date not null,
  certification_due date not null,
  next_due          date not null generated always as (least(inactivity_due, milestone_due, certification_due)) stored,
  evaluated_on      date not null
);
comment on table scheduler.mentor_state is
  'Incremental run: per mentor, the first date a scenario could fire if nothing changes (a lower bound). Written only by scheduler.evaluate_batch.';
comment on column scheduler.mentor_state.next_due is
  'The earliest of the scenarios'' due dates: the incremental walk evaluates the mentor on any date on or after it.';
comment on column scheduler.mentor_state.evaluated_on is
  'The latest evaluation date that wrote the row: a run for an earlier date (a backfill) evaluates the mentor and writes nothing.';
create index if not exists mentor_state_next_due on scheduler.mentor_state (next_due);
alter table scheduler.mentor_state enable row level security;
revoke all on table scheduler.mentor_state from public;

create table if not exists scheduler.state_reconciliations (
  scenario      text not null,
  slot          text not null,
  shards        integer not null,
  shard         integer not null,
  reconciled_on date not null,
  state_version bigint not null,
  reconciled_at timestamptz not null default pg_catalog.now(),
  primary key (scenario, slot, shards, shard)
);
comment on table scheduler.state_reconciliations is
  'Incremental run: the last full evaluation of each scenario and part, and the state version it ran under. Without a current row the part runs full.';
alter table scheduler.state_reconciliations enable row level security;
revoke all on table scheduler.state_reconciliations from public;

create table if not exists scheduler.state_invalidations (
  version  bigint generated always as identity primary key,
  cause    text not null check (cause in ('configuration', 'requested')),
  noted_at timestamptz not null default pg_catalog.now()
);
comment on table scheduler.state_invalidations is
  'Incremental run: each configuration change (trigger) and each scheduler.reconcile() call; a reconciliation older than the latest version makes the next run full.';
alter table scheduler.state_invalidations enable row level security;
revoke all on table scheduler.state_invalidations from public;
revoke all on sequence scheduler.state_invalidations_version_seq from public;

alter table scheduler.checkpoints add column if not exists mode text;
alter table scheduler.checkpoints add column if not exists mode_reason text;
alter table scheduler.checkpoints add column if not exists config_version bigint;
alter table scheduler.checkpoints add column if not exists state_repairs integer not null default 0;
comment on column scheduler.checkpoints.mode is 'incremental or full: decided by the first batch (scheduler.state_mode) and kept to the end.';
comment on column scheduler.checkpoints.state_repairs is 'A reconciliation''s repairs: mentors whose stored due date was later than the one it computed.';

alter table scheduler.ops_settings add column if not exists reconcile_days integer not null default 7;
do $$
begin
  if not exists (select 1 from pg_catalog.pg_constraint c
                 where c.conrelid = 'scheduler.ops_settings'::regclass and c.conname = 'ops_settings_reconcile_days_check') then
    alter table scheduler.ops_settings
      add constraint ops_settings_reconcile_days_check check (reconcile_days >= 1 and reconcile_days <= 90);
  end if;
end
$$;
comment on column scheduler.ops_settings.reconcile_days is 'How old the incremental run''s last full evaluation (reconciliation) may grow before the next run is full (docs/operations.md).';

-- scheduler/functions/note_config_change.sql
CREATE OR REPLACE FUNCTION scheduler.note_config_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  -- The state's due dates were computed under the old configuration (thresholds, rungs, levels, enabled,
  -- cooldowns; a send hour moves organisations between slots): the next checkpoints run full.
  insert into scheduler.state_invalidations (cause) values ('configuration');
  return null;
end
$$;
COMMENT ON FUNCTION scheduler.note_config_change() IS 'Trigger on scenario_config and delivery_config: a configuration change invalidates the incremental run''s state.';
REVOKE ALL ON FUNCTION scheduler.note_config_change() FROM PUBLIC;

-- Row triggers, so that a statement that changes nothing (a migration applied again: insert ... on conflict do
-- nothing) notes nothing; updates only where a column the rules read changed (record_scenario_stats writes
-- last_evaluated_* after every full evaluation). TRUNCATE has statement triggers only.
create or replace trigger scenario_config_state_version after insert or delete on scheduler.scenario_config
  for each row execute function scheduler.note_config_change();
create or replace trigger scenario_config_state_version_changed after update on scheduler.scenario_config
  for each row when (old.scenario is distinct from new.scenario or old.organisation_id is distinct from new.organisation_id
                     or old.enabled is distinct from new.enabled or old.params is distinct from new.params
                     or old.cooldown_days is distinct from new.cooldown_days or old.priority is distinct from new.priority)
  execute function scheduler.note_config_change();
create or replace trigger scenario_config_state_version_truncate after truncate on scheduler.scenario_config
  for each statement execute function scheduler.note_config_change();
create or replace trigger delivery_config_state_version after insert or delete on scheduler.delivery_config
  for each row execute function scheduler.note_config_change();
create or replace trigger delivery_config_state_version_changed after update on scheduler.delivery_config
  for each row when (old.* is distinct from new.*) execute function scheduler.note_config_change();
create or replace trigger delivery_config_state_version_truncate after truncate on scheduler.delivery_config
  for each statement execute function scheduler.note_config_change();

-- The change feed tells a change of activities alone from any other (a certification, the mentor's status,
-- organisation or start date): activities do not move the certification rule, so the incremental run does not
-- evaluate certification expiry for a mentor whose only change was an activity. Written by
-- scheduler.note_mentor_change.
alter table scheduler.mentor_changes add column if not exists activities_only boolean default false not null;

comment on column scheduler.mentor_changes.activities_only is
  'Every note since the row was last read was of activities (a note with dates): the certification rule need not evaluate the mentor.';
