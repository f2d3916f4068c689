-- Table scheduler.mentor_state, current definition. Edit here and write the ALTER in a migration (docs/architecture.md).

CREATE TABLE scheduler.mentor_state (
    user_id uuid NOT NULL,
    inactivity_due date NOT NULL,
    milestone_due date NOT NULL,
    certification_due date NOT NULL,
    next_due date GENERATED ALWAYS AS (LEAST(inactivity_due, milestone_due, certification_due)) STORED NOT NULL,
    evaluated_on date NOT NULL
);

COMMENT ON TABLE scheduler.mentor_state IS 'Incremental run: per mentor, the first date a scenario could fire if nothing changes (a lower bound). Written only by scheduler.evaluate_batch.';

COMMENT ON COLUMN scheduler.mentor_state.next_due IS 'The earliest of the scenarios'' due dates: the incremental walk evaluates the mentor on any date on or after it.';

COMMENT ON COLUMN scheduler.mentor_state.evaluated_on IS 'The latest evaluation date that wrote the row: a run for an earlier date (a backfill) evaluates the mentor and writes nothing.';

ALTER TABLE ONLY scheduler.mentor_state
    ADD CONSTRAINT mentor_state_pkey PRIMARY KEY (user_id);

CREATE INDEX mentor_state_next_due ON scheduler.mentor_state USING btree (next_due);

ALTER TABLE scheduler.mentor_state ENABLE ROW LEVEL SECURITY;
