-- Function scheduler.sent_on, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.sent_on(p_key text) RETURNS TABLE(sent_on date)
    LANGUAGE sql STABLE
    AS $$
  select d.evaluation_date from scheduler.sent_nudges d where d.idempotency_key = p_key
$$;

COMMENT ON FUNCTION scheduler.sent_on(p_key text) IS 'No fixed search_path on purpose: inlined into evaluate_batch and explain (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.sent_on(p_key text) FROM PUBLIC;
