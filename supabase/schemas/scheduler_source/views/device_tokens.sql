-- View scheduler_source.device_tokens, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE VIEW scheduler_source.device_tokens AS
 SELECT NULL::uuid AS user_id,
    NULL::text AS token,
    NULL::text AS platform,
    NULL::boolean AS disabled
  WHERE false;
