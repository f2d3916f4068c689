-- Holdout and outcomes, the tables (docs/operations.md, "Do the nudges work?"). The functions that use them
-- are the next migration, written from the SQL tree.
--
-- * scheduler.scenario_config.holdout_percent: per scenario, on the default row (every organisation) or an
--   organisation's row (null there: the default row's; null on the default row: 0, off). 0 to 20: a holdout
--   larger than a fifth of the audience withholds nudges from more people than a comparison needs.
-- * scheduler.held_out_nudges: the nudges a held-out mentor would have been sent, shaped like the
--   notification's key columns, with the same guarantees enforced by the database (a unique idempotency key,
--   the cooldown as an exclusion constraint over a date range), so that the held-out group's schedule is
--   built by the same rules and the same constraints as the nudged group's. No push reads it.
--   Owner-only with row-level security on and no policy: the Data API's roles and the function role see
--   nothing; the function role writes it only through evaluate_batch (SECURITY DEFINER).
-- * scheduler.ops_settings.nudge_history_days: how long prune keeps held-out nudges (null: as long as the
--   notifications, which the scheduler never deletes).
-- Safe to apply twice.

alter table scheduler.scenario_config add column if not exists holdout_percent integer;
do $$
begin
  if not exists (select 1 from pg_catalog.pg_constraint
                 where conname = 'scenario_config_holdout_percent'
                   and conrelid = 'scheduler.scenario_config'::regclass) then
    alter table scheduler.scenario_config add constraint scenario_config_holdout_percent
      check (holdout_percent between 0 and 20);
  end if;
end
$$;
comment on column scheduler.scenario_config.holdout_percent is
  'Share of the organisation''s mentors (0-20 %) held out of this scenario: evaluated, recorded in scheduler.held_out_nudges, never notified. Null: the default row''s (null there: 0).';

alter table scheduler.ops_settings add column if not exists nudge_history_days integer;
do $$
begin
  if not exists (select 1 from pg_catalog.pg_constraint
                 where conname = 'ops_settings_nudge_history_days_check'
                   and conrelid = 'scheduler.ops_settings'::regclass) then
    alter table scheduler.ops_settings add constraint ops_settings_nudge_history_days_check
      check (nudge_history_days >= 92);
  end if;
end
$$;
comment on column scheduler.ops_settings.nudge_history_days is
  'How long prune keeps held-out nudges (at least 92 days, a backfill''s reach). Null: as long as the notifications, which the scheduler never deletes.';

create table if not exists scheduler.held_out_nudges (
  id bigint generated always as identity primary key,
  user_id uuid not null,
  organisation_id uuid not null,
  scenario text not null,
  evaluation_date date not null,
  idempotency_key text not null,
  cooldown_period daterange,
  priority integer not null,
  data jsonb not null default '{}'::jsonb,
  run_id uuid,
  created_at timestamptz not null default now(),
  constraint held_out_nudges_idempotency_key unique (idempotency_key),
  -- The same cooldown as public.notifications_cooldown, for the held-out group.
  constraint held_out_nudges_cooldown exclude using gist (
    user_id with =, scenario with =, cooldown_period with &&) where (cooldown_period is not null)
);
comment on table scheduler.held_out_nudges is
  'Nudges a held-out mentor would have been sent (the control group): no notification, no push. Read by the rules as sent (scheduler.sent_nudges).';
-- The rules' reading of earlier nudges, as public.notifications_user_scenario_date serves the notifications.
create index if not exists held_out_nudges_user_scenario_date
  on scheduler.held_out_nudges (user_id, scenario, evaluation_date);
-- The report and prune read by date.
create index if not exists held_out_nudges_evaluation_date on scheduler.held_out_nudges (evaluation_date);
alter table scheduler.held_out_nudges enable row level security;
revoke all on table scheduler.held_out_nudges from public;
do $$
declare
  r record;
begin
  for r in select rolname from pg_catalog.pg_roles
           where rolname in ('anon', 'authenticated', 'service_role', 'scenario_scheduler') loop
    execute format('revoke all on table scheduler.held_out_nudges from %I', r.rolname);
    execute format('revoke all on sequence scheduler.held_out_nudges_id_seq from %I', r.rolname);
  end loop;
end
$$;
