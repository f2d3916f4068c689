-- Sequence scheduler.mentor_change_seq, current definition. Edit here and write the ALTER in a migration (docs/architecture.md).

CREATE SEQUENCE scheduler.mentor_change_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
