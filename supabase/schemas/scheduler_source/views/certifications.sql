-- View scheduler_source.certifications, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE VIEW scheduler_source.certifications AS
 SELECT NULL::uuid AS id,
    NULL::uuid AS user_id,
    NULL::text AS name,
    NULL::date AS expires_at
  WHERE false;
