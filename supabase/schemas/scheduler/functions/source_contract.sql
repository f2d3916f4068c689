-- Function scheduler.source_contract, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.source_contract() RETURNS TABLE(view_name text, column_name text, type_name regtype)
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  values ('organisations', 'id', 'uuid'::pg_catalog.regtype), ('organisations', 'name', 'text'),
         ('organisations', 'timezone', 'text'),
         ('peer_mentors', 'id', 'uuid'), ('peer_mentors', 'organisation_id', 'uuid'),
         ('peer_mentors', 'full_name', 'text'), ('peer_mentors', 'status', 'text'),
         ('peer_mentors', 'locale', 'text'), ('peer_mentors', 'joined_on', 'date'),
         ('activities', 'user_id', 'uuid'), ('activities', 'activity_date', 'date'),
         ('certifications', 'id', 'uuid'), ('certifications', 'user_id', 'uuid'),
         ('certifications', 'name', 'text'), ('certifications', 'expires_at', 'date'),
         ('device_tokens', 'user_id', 'uuid'), ('device_tokens', 'token', 'text'),
         ('device_tokens', 'platform', 'text'), ('device_tokens', 'disabled', 'boolean')
$$;

REVOKE ALL ON FUNCTION scheduler.source_contract() FROM PUBLIC;
