-- Schema scheduler. A change ships in a hand-written migration (docs/architecture.md, "SQL kept like code").

CREATE SCHEMA scheduler;

COMMENT ON SCHEMA scheduler IS 'Scenario scheduler internals. Not exposed through the Data API.';

GRANT USAGE ON SCHEMA scheduler TO scenario_scheduler;
GRANT USAGE ON SCHEMA scheduler TO scheduler_change_feed;
