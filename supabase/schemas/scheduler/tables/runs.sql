-- Table scheduler.runs, current definition. Edit here and write the ALTER in a migration (docs/architecture.md).

CREATE TABLE scheduler.runs (
    id uuid NOT NULL,
    evaluation_date date NOT NULL,
    trigger text NOT NULL,
    dry_run boolean DEFAULT false NOT NULL,
    status text DEFAULT 'running'::text NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone,
    duration_ms integer,
    request jsonb DEFAULT '{}'::jsonb NOT NULL,
    report jsonb
);

COMMENT ON TABLE scheduler.runs IS 'One row per invocation, with its report.';

ALTER TABLE ONLY scheduler.runs
    ADD CONSTRAINT runs_pkey PRIMARY KEY (id);

CREATE INDEX runs_evaluation_date ON scheduler.runs USING btree (evaluation_date, started_at);
