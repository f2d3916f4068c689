-- Table scheduler.state_reconciliations, current definition. Edit here and write the ALTER in a migration (docs/architecture.md).

CREATE TABLE scheduler.state_reconciliations (
    scenario text NOT NULL,
    slot text NOT NULL,
    shards integer NOT NULL,
    shard integer NOT NULL,
    reconciled_on date NOT NULL,
    state_version bigint NOT NULL,
    reconciled_at timestamp with time zone DEFAULT now() NOT NULL
);

COMMENT ON TABLE scheduler.state_reconciliations IS 'Incremental run: the last full evaluation of each scenario and part, and the state version it ran under. Without a current row the part runs full.';

ALTER TABLE ONLY scheduler.state_reconciliations
    ADD CONSTRAINT state_reconciliations_pkey PRIMARY KEY (scenario, slot, shards, shard);

ALTER TABLE scheduler.state_reconciliations ENABLE ROW LEVEL SECURITY;
