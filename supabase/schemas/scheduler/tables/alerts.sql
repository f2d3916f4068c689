-- Table scheduler.alerts, current definition. Edit here and write the ALTER in a migration (docs/architecture.md).

CREATE TABLE scheduler.alerts (
    id bigint NOT NULL,
    day date NOT NULL,
    problem text NOT NULL,
    detail text NOT NULL,
    since timestamp with time zone,
    first_seen timestamp with time zone DEFAULT now() NOT NULL,
    last_seen timestamp with time zone DEFAULT now() NOT NULL,
    resolved_at timestamp with time zone,
    notify_request_id bigint,
    cause text DEFAULT ''::text NOT NULL,
    CONSTRAINT alerts_problem_check CHECK ((problem = ANY (ARRAY['not_scheduled'::text, 'vault_entry_missing'::text, 'invoke_failed'::text, 'no_answer'::text, 'unauthorised'::text, 'unreachable'::text, 'timeout'::text, 'http_error'::text, 'run_missing'::text, 'run_partial'::text, 'source_contract'::text, 'foreign_trigger'::text, 'request_lost'::text])))
);

COMMENT ON TABLE scheduler.alerts IS 'Problems the watchdog found: one row per local day, problem and cause; resolved_at set once the cause is gone.';

COMMENT ON COLUMN scheduler.alerts.cause IS 'What tells two alerts of one problem apart on one day (a failure''s message, a request, a trigger, the scenarios or slots): a different cause is posted, the same one is not.';

ALTER TABLE scheduler.alerts ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME scheduler.alerts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY scheduler.alerts
    ADD CONSTRAINT alerts_one_per_cause UNIQUE (day, problem, cause);

ALTER TABLE ONLY scheduler.alerts
    ADD CONSTRAINT alerts_pkey PRIMARY KEY (id);

CREATE INDEX alerts_open ON scheduler.alerts USING btree (day) WHERE (resolved_at IS NULL);
