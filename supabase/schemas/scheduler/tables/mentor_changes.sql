-- Table scheduler.mentor_changes, current definition. Edit here and write the ALTER in a migration (docs/architecture.md).

CREATE TABLE scheduler.mentor_changes (
    user_id uuid NOT NULL,
    change_seq bigint NOT NULL,
    affected_from date,
    noted_at timestamp with time zone DEFAULT now() NOT NULL,
    activities_only boolean DEFAULT false NOT NULL
)
WITH (fillfactor='70');

COMMENT ON TABLE scheduler.mentor_changes IS 'Change feed: mentors changed since the scheduler last evaluated them (one row each). Written only by scheduler.note_mentor_change.';

COMMENT ON COLUMN scheduler.mentor_changes.change_seq IS 'Raised by every note: delete a row only at the change_seq you read (a higher one means a newer change). Not a commit-order watermark.';

COMMENT ON COLUMN scheduler.mentor_changes.affected_from IS 'Earliest activity date whose rows changed; null: no activity changed (mentor or certification only); -infinity: unknown, all of them.';

COMMENT ON COLUMN scheduler.mentor_changes.activities_only IS 'Every note since the row was last read was of activities (a note with dates): the certification rule need not evaluate the mentor.';

ALTER TABLE ONLY scheduler.mentor_changes
    ADD CONSTRAINT mentor_changes_pkey PRIMARY KEY (user_id);

ALTER TABLE scheduler.mentor_changes ENABLE ROW LEVEL SECURITY;
