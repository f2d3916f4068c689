-- Table scheduler.held_out_nudges, current definition. Edit here and write the ALTER in a migration (docs/architecture.md).

CREATE TABLE scheduler.held_out_nudges (
    id bigint NOT NULL,
    user_id uuid NOT NULL,
    organisation_id uuid NOT NULL,
    scenario text NOT NULL,
    evaluation_date date NOT NULL,
    idempotency_key text NOT NULL,
    cooldown_period daterange,
    priority integer NOT NULL,
    data jsonb DEFAULT '{}'::jsonb NOT NULL,
    run_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

COMMENT ON TABLE scheduler.held_out_nudges IS 'Nudges a held-out mentor would have been sent (the control group): no notification, no push. Read by the rules as sent (scheduler.sent_nudges).';

ALTER TABLE scheduler.held_out_nudges ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME scheduler.held_out_nudges_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY scheduler.held_out_nudges
    ADD CONSTRAINT held_out_nudges_cooldown EXCLUDE USING gist (user_id WITH =, scenario WITH =, cooldown_period WITH &&) WHERE ((cooldown_period IS NOT NULL));

ALTER TABLE ONLY scheduler.held_out_nudges
    ADD CONSTRAINT held_out_nudges_idempotency_key UNIQUE (idempotency_key);

ALTER TABLE ONLY scheduler.held_out_nudges
    ADD CONSTRAINT held_out_nudges_pkey PRIMARY KEY (id);

CREATE INDEX held_out_nudges_evaluation_date ON scheduler.held_out_nudges USING btree (evaluation_date);

CREATE INDEX held_out_nudges_user_scenario_date ON scheduler.held_out_nudges USING btree (user_id, scenario, evaluation_date);

ALTER TABLE scheduler.held_out_nudges ENABLE ROW LEVEL SECURITY;
