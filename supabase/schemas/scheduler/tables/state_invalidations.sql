-- Table scheduler.state_invalidations, current definition. Edit here and write the ALTER in a migration (docs/architecture.md).

CREATE TABLE scheduler.state_invalidations (
    version bigint NOT NULL,
    cause text NOT NULL,
    noted_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT state_invalidations_cause_check CHECK ((cause = ANY (ARRAY['configuration'::text, 'requested'::text])))
);

COMMENT ON TABLE scheduler.state_invalidations IS 'Incremental run: each configuration change (trigger) and each scheduler.reconcile() call; a reconciliation older than the latest version makes the next run full.';

ALTER TABLE scheduler.state_invalidations ALTER COLUMN version ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME scheduler.state_invalidations_version_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY scheduler.state_invalidations
    ADD CONSTRAINT state_invalidations_pkey PRIMARY KEY (version);

ALTER TABLE scheduler.state_invalidations ENABLE ROW LEVEL SECURITY;
