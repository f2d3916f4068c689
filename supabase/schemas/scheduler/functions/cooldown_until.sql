-- Function scheduler.cooldown_until, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.cooldown_until(p_user uuid, p_scenario text, p_date date, p_cooldown_days integer) RETURNS TABLE(until date)
    LANGUAGE sql STABLE
    AS $$
  select max(pg_catalog.upper(n.cooldown_period))
  from scheduler.sent_nudges n
  where p_cooldown_days > 0
    and n.user_id = p_user and n.scenario = p_scenario
    and n.cooldown_period && pg_catalog.daterange(p_date, p_date + p_cooldown_days)
$$;

COMMENT ON FUNCTION scheduler.cooldown_until(p_user uuid, p_scenario text, p_date date, p_cooldown_days integer) IS 'No fixed search_path on purpose: inlined into evaluate_batch and explain (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.cooldown_until(p_user uuid, p_scenario text, p_date date, p_cooldown_days integer) FROM PUBLIC;
