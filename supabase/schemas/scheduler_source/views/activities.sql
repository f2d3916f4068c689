-- View scheduler_source.activities, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE VIEW scheduler_source.activities AS
 SELECT NULL::uuid AS user_id,
    NULL::date AS activity_date
  WHERE false;
