-- View scheduler_source.peer_mentors, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE VIEW scheduler_source.peer_mentors AS
 SELECT NULL::uuid AS id,
    NULL::uuid AS organisation_id,
    NULL::text AS full_name,
    NULL::text AS status,
    NULL::text AS locale,
    NULL::date AS joined_on
  WHERE false;
