-- Function scheduler.candidates, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.candidates(p_scenario text, p_date date, p_after uuid, p_last uuid, p_ids uuid[]) RETURNS TABLE(user_id uuid, organisation_id uuid, idempotency_key text, data jsonb, cooldown_days integer, priority integer)
    LANGUAGE sql STABLE
    AS $$
  select * from scheduler.inactivity_candidates(p_date, p_after, p_last, p_ids) where p_scenario = 'inactivity'
  union all
  select * from scheduler.milestone_candidates(p_date, p_after, p_last, p_ids) where p_scenario = 'milestone'
  union all
  select * from scheduler.certification_candidates(p_date, p_after, p_last, p_ids) where p_scenario = 'certification_expiry'
$$;

COMMENT ON FUNCTION scheduler.candidates(p_scenario text, p_date date, p_after uuid, p_last uuid, p_ids uuid[]) IS 'No fixed search_path on purpose: inlined into evaluate_batch and explain (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.candidates(p_scenario text, p_date date, p_after uuid, p_last uuid, p_ids uuid[]) FROM PUBLIC;
