-- View scheduler_source.organisations, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE VIEW scheduler_source.organisations AS
 SELECT NULL::uuid AS id,
    NULL::text AS name,
    NULL::text AS timezone
  WHERE false;
