-- Table scheduler.scenario_config, current definition. Edit here and write the ALTER in a migration (docs/architecture.md).

CREATE TABLE scheduler.scenario_config (
    id bigint NOT NULL,
    scenario text NOT NULL,
    organisation_id uuid,
    enabled boolean,
    params jsonb DEFAULT '{}'::jsonb NOT NULL,
    cooldown_days integer,
    priority integer,
    last_evaluated_count integer,
    last_duration_ms integer,
    last_evaluated_at timestamp with time zone,
    holdout_percent integer,
    CONSTRAINT scenario_config_cooldown_days_check CHECK ((cooldown_days >= 0)),
    CONSTRAINT scenario_config_default_complete CHECK (((organisation_id IS NOT NULL) OR ((enabled IS NOT NULL) AND (cooldown_days IS NOT NULL) AND (priority IS NOT NULL)))),
    CONSTRAINT scenario_config_holdout_percent CHECK (((holdout_percent >= 0) AND (holdout_percent <= 20))),
    CONSTRAINT scenario_config_inactivity_params CHECK (((scenario <> 'inactivity'::text) OR scheduler.inactivity_params_valid(params))),
    CONSTRAINT scenario_config_params_check CHECK ((jsonb_typeof(params) = 'object'::text)),
    CONSTRAINT scenario_config_scenario_check CHECK ((scenario = ANY (ARRAY['inactivity'::text, 'milestone'::text, 'certification_expiry'::text]))),
    CONSTRAINT scenario_config_templates CHECK (scheduler.templates_valid(params))
);

COMMENT ON TABLE scheduler.scenario_config IS 'Per scenario: a default row (organisation_id null) and optional per-organisation overrides.';

COMMENT ON COLUMN scheduler.scenario_config.holdout_percent IS 'Share of the organisation''s mentors (0-20 %) held out of this scenario: evaluated, recorded in scheduler.held_out_nudges, never notified. Null: the default row''s (null there: 0).';

ALTER TABLE scheduler.scenario_config ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME scheduler.scenario_config_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY scheduler.scenario_config
    ADD CONSTRAINT scenario_config_one_row UNIQUE NULLS NOT DISTINCT (scenario, organisation_id);

ALTER TABLE ONLY scheduler.scenario_config
    ADD CONSTRAINT scenario_config_pkey PRIMARY KEY (id);

CREATE TRIGGER scenario_config_state_version AFTER INSERT OR DELETE ON scheduler.scenario_config FOR EACH ROW EXECUTE FUNCTION scheduler.note_config_change();

CREATE TRIGGER scenario_config_state_version_changed AFTER UPDATE ON scheduler.scenario_config FOR EACH ROW WHEN (((old.scenario IS DISTINCT FROM new.scenario) OR (old.organisation_id IS DISTINCT FROM new.organisation_id) OR (old.enabled IS DISTINCT FROM new.enabled) OR (old.params IS DISTINCT FROM new.params) OR (old.cooldown_days IS DISTINCT FROM new.cooldown_days) OR (old.priority IS DISTINCT FROM new.priority))) EXECUTE FUNCTION scheduler.note_config_change();

CREATE TRIGGER scenario_config_state_version_truncate AFTER TRUNCATE ON scheduler.scenario_config FOR EACH STATEMENT EXECUTE FUNCTION scheduler.note_config_change();
