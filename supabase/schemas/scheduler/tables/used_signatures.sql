-- Table scheduler.used_signatures, current definition. Edit here and write the ALTER in a migration (docs/architecture.md).

CREATE TABLE scheduler.used_signatures (
    signature_sha256 text NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    CONSTRAINT used_signatures_signature_sha256_check CHECK ((signature_sha256 ~ '^[0-9a-f]{64}$'::text))
);

COMMENT ON TABLE scheduler.used_signatures IS 'SHA-256 of the signatures of signed calls already accepted, kept until they expire (timestamp + 300 s): a replay is refused.';

ALTER TABLE ONLY scheduler.used_signatures
    ADD CONSTRAINT used_signatures_pkey PRIMARY KEY (signature_sha256);

CREATE INDEX used_signatures_expires_at ON scheduler.used_signatures USING btree (expires_at);

ALTER TABLE scheduler.used_signatures ENABLE ROW LEVEL SECURITY;
