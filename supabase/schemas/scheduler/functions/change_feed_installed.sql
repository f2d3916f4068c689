-- Function scheduler.change_feed_installed, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.change_feed_installed() RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select pg_catalog.bool_and(c.base_table is not null and pg_catalog.cardinality(c.missing_events) = 0)
  from scheduler.change_feed_coverage() c
$$;

COMMENT ON FUNCTION scheduler.change_feed_installed() IS 'Change feed: true when every app table behind the contract''s activities, certifications and peer_mentors notes its changes.';

REVOKE ALL ON FUNCTION scheduler.change_feed_installed() FROM PUBLIC;
