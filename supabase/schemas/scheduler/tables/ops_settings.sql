-- Table scheduler.ops_settings, current definition. Edit here and write the ALTER in a migration (docs/architecture.md).

CREATE TABLE scheduler.ops_settings (
    id boolean DEFAULT true NOT NULL,
    time_zone text DEFAULT 'Europe/Oslo'::text NOT NULL,
    grace_minutes integer DEFAULT 90 NOT NULL,
    answer_wait_minutes integer DEFAULT 5 NOT NULL,
    history_days integer DEFAULT 180 NOT NULL,
    cron_details_days integer DEFAULT 30 NOT NULL,
    abandon_after_minutes integer DEFAULT 60 NOT NULL,
    continue_max integer DEFAULT 20 NOT NULL,
    nudge_history_days integer,
    reconcile_days integer DEFAULT 7 NOT NULL,
    CONSTRAINT ops_settings_abandon_after_minutes_check CHECK ((abandon_after_minutes >= 5)),
    CONSTRAINT ops_settings_answer_wait_minutes_check CHECK (((answer_wait_minutes >= 1) AND (answer_wait_minutes <= 240))),
    CONSTRAINT ops_settings_continue_max_check CHECK (((continue_max >= 0) AND (continue_max <= 100))),
    CONSTRAINT ops_settings_cron_details_days_check CHECK ((cron_details_days >= 1)),
    CONSTRAINT ops_settings_grace_minutes_check CHECK (((grace_minutes >= 0) AND (grace_minutes <= 1440))),
    CONSTRAINT ops_settings_history_days_check CHECK ((history_days >= 92)),
    CONSTRAINT ops_settings_id_check CHECK (id),
    CONSTRAINT ops_settings_nudge_history_days_check CHECK ((nudge_history_days >= 92)),
    CONSTRAINT ops_settings_reconcile_days_check CHECK (((reconcile_days >= 1) AND (reconcile_days <= 90))),
    CONSTRAINT ops_settings_time_zone_check CHECK ((('2000-01-01 00:00:00'::timestamp without time zone AT TIME ZONE time_zone) IS NOT NULL))
);

COMMENT ON TABLE scheduler.ops_settings IS 'One row: time zone, watchdog grace period and retention windows (docs/operations.md).';

COMMENT ON COLUMN scheduler.ops_settings.continue_max IS 'How many continuations scheduler.continue_partial() queues at most for one date and part of a run (0: none; docs/supabase.md).';

COMMENT ON COLUMN scheduler.ops_settings.nudge_history_days IS 'How long prune keeps held-out nudges (at least 92 days, a backfill''s reach). Null: as long as the notifications, which the scheduler never deletes.';

COMMENT ON COLUMN scheduler.ops_settings.reconcile_days IS 'How old the incremental run''s last full evaluation (reconciliation) may grow before the next run is full (docs/operations.md).';

ALTER TABLE ONLY scheduler.ops_settings
    ADD CONSTRAINT ops_settings_pkey PRIMARY KEY (id);
