-- Schema scheduler_source. A change ships in a hand-written migration (docs/architecture.md, "SQL kept like code").

CREATE SCHEMA scheduler_source;

COMMENT ON SCHEMA scheduler_source IS 'Scenario scheduler source contract: views over the app''s tables. Not exposed through the Data API.';
