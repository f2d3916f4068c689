-- Table scheduler.delivery_config, current definition. Edit here and write the ALTER in a migration (docs/architecture.md).

CREATE TABLE scheduler.delivery_config (
    id bigint NOT NULL,
    organisation_id uuid,
    daily_cap integer,
    quiet_start time without time zone,
    quiet_end time without time zone,
    max_age_days integer,
    send_hour integer,
    CONSTRAINT delivery_config_daily_cap_check CHECK ((daily_cap >= 1)),
    CONSTRAINT delivery_config_default_complete CHECK (((organisation_id IS NOT NULL) OR ((quiet_start IS NOT NULL) AND (quiet_end IS NOT NULL) AND (max_age_days IS NOT NULL)))),
    CONSTRAINT delivery_config_max_age_days_check CHECK ((max_age_days >= 0)),
    CONSTRAINT delivery_config_send_hour_range CHECK (((send_hour >= 0) AND (send_hour <= 23)))
);

COMMENT ON TABLE scheduler.delivery_config IS 'Push delivery policy: daily cap, quiet hours, maximum age. A default row and per-organisation overrides.';

COMMENT ON COLUMN scheduler.delivery_config.send_hour IS 'The local hour (0-23) at which the hourly job evaluates the organisation (default row: 8). Null: the default row''s (null there too: 8).';

ALTER TABLE scheduler.delivery_config ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME scheduler.delivery_config_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY scheduler.delivery_config
    ADD CONSTRAINT delivery_config_one_row UNIQUE NULLS NOT DISTINCT (organisation_id);

ALTER TABLE ONLY scheduler.delivery_config
    ADD CONSTRAINT delivery_config_pkey PRIMARY KEY (id);

CREATE TRIGGER delivery_config_state_version AFTER INSERT OR DELETE ON scheduler.delivery_config FOR EACH ROW EXECUTE FUNCTION scheduler.note_config_change();

CREATE TRIGGER delivery_config_state_version_changed AFTER UPDATE ON scheduler.delivery_config FOR EACH ROW WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION scheduler.note_config_change();

CREATE TRIGGER delivery_config_state_version_truncate AFTER TRUNCATE ON scheduler.delivery_config FOR EACH STATEMENT EXECUTE FUNCTION scheduler.note_config_change();
