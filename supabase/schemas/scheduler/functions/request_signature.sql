-- Function scheduler.request_signature, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.request_signature(p_secret text, p_timestamp text, p_nonce text, p_method text, p_path text, p_body jsonb) RETURNS text
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select 'v2=' || pg_catalog.encode(extensions.hmac(
    scheduler.canonical_request(p_timestamp, p_nonce, p_method, p_path, p_body), p_secret, 'sha256'), 'hex')
$$;

COMMENT ON FUNCTION scheduler.request_signature(p_secret text, p_timestamp text, p_nonce text, p_method text, p_path text, p_body jsonb) IS 'The X-Scheduler-Signature of a request: v2= and the hex HMAC-SHA256 of scheduler.canonical_request().';

REVOKE ALL ON FUNCTION scheduler.request_signature(p_secret text, p_timestamp text, p_nonce text, p_method text, p_path text, p_body jsonb) FROM PUBLIC;
