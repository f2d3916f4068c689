-- Table scheduler.invocations, current definition. Edit here and write the ALTER in a migration (docs/architecture.md).

CREATE TABLE scheduler.invocations (
    id bigint NOT NULL,
    request_id bigint NOT NULL,
    trigger text NOT NULL,
    job text,
    scenarios text[],
    dry_run boolean DEFAULT false NOT NULL,
    queued_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    queued_by text DEFAULT SESSION_USER NOT NULL,
    shard text,
    slot text,
    outcome text,
    outcome_detail text,
    accounted_at timestamp with time zone,
    evaluation_date date,
    CONSTRAINT invocations_outcome_check CHECK ((outcome = ANY (ARRAY['ok'::text, 'unauthorised'::text, 'http_error'::text, 'timeout'::text, 'unreachable'::text, 'lost'::text, 'not_checked'::text])))
);

COMMENT ON TABLE scheduler.invocations IS 'One row per request scheduler.invoke() queued with pg_net; join net._http_response on request_id for the answer.';

COMMENT ON COLUMN scheduler.invocations.shard IS 'The shard the request named ("k/N"), null for the whole range.';

COMMENT ON COLUMN scheduler.invocations.slot IS 'The slot the request named ("<zone>@<HH>"), null for the whole project.';

COMMENT ON COLUMN scheduler.invocations.outcome IS 'What became of the request, recorded once by the watchdog (scheduler.account_requests): ok (2xx), unauthorised, http_error, timeout, unreachable, lost (no answer and gone from pg_net''s queue); not_checked for requests queued before it accounted for them; null while pending.';

COMMENT ON COLUMN scheduler.invocations.evaluation_date IS 'The date the request named, null when it named none (the function''s today).';

ALTER TABLE scheduler.invocations ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME scheduler.invocations_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY scheduler.invocations
    ADD CONSTRAINT invocations_pkey PRIMARY KEY (id);

CREATE INDEX invocations_queued_at ON scheduler.invocations USING btree (queued_at);

CREATE INDEX invocations_request ON scheduler.invocations USING btree (request_id);

CREATE INDEX invocations_unaccounted ON scheduler.invocations USING btree (queued_at) WHERE (outcome IS NULL);
