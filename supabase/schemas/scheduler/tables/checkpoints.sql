-- Table scheduler.checkpoints, current definition. Edit here and write the ALTER in a migration (docs/architecture.md).

CREATE TABLE scheduler.checkpoints (
    evaluation_date date NOT NULL,
    scenario text NOT NULL,
    cursor uuid,
    done boolean DEFAULT false NOT NULL,
    evaluated integer DEFAULT 0 NOT NULL,
    notified integer DEFAULT 0 NOT NULL,
    batches integer DEFAULT 0 NOT NULL,
    lease_owner uuid,
    lease_until timestamp with time zone,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    completed_at timestamp with time zone,
    shard integer DEFAULT 1 NOT NULL,
    shards integer DEFAULT 1 NOT NULL,
    slot text DEFAULT ''::text NOT NULL,
    mode text,
    mode_reason text,
    config_version bigint,
    state_repairs integer DEFAULT 0 NOT NULL,
    CONSTRAINT checkpoints_shard_valid CHECK ((((shards >= 1) AND (shards <= 64)) AND ((shard >= 1) AND (shard <= shards)))),
    CONSTRAINT checkpoints_slot_valid CHECK (scheduler.slot_form(slot))
);

COMMENT ON TABLE scheduler.checkpoints IS 'Progress of one scenario on one evaluation date; advanced in the same transaction as the batch''s notifications.';

COMMENT ON COLUMN scheduler.checkpoints.shard IS 'Which shard of the mentor id space this row covers: shard of shards (1 of 1: all of it).';

COMMENT ON COLUMN scheduler.checkpoints.shards IS 'How many shards this date''s scenario is split into (scheduler.shard_bounds).';

COMMENT ON COLUMN scheduler.checkpoints.slot IS 'The slot ("<zone>@<HH>") whose organisations this row evaluates; '''' for the whole project.';

COMMENT ON COLUMN scheduler.checkpoints.mode IS 'incremental or full: decided by the first batch (scheduler.state_mode) and kept to the end.';

COMMENT ON COLUMN scheduler.checkpoints.state_repairs IS 'A reconciliation''s repairs: mentors whose stored due date was later than the one it computed.';

ALTER TABLE ONLY scheduler.checkpoints
    ADD CONSTRAINT checkpoints_pkey PRIMARY KEY (evaluation_date, scenario, slot, shards, shard);
