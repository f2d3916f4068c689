-- Function scheduler.candidates, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.candidates(p_scenario text, p_date date, p_after uuid, p_last uuid, p_ids uuid[], p_idle boolean) RETURNS TABLE(user_id uuid, organisation_id uuid, idempotency_key text, data jsonb, cooldown_days integer, priority integer, fires boolean, due_sent date, due_idle date)
    LANGUAGE sql STABLE
    AS $$
  -- The mentors (certifications) of the batch assessed for the scenario: whether it fires, and the due dates
  -- of the incremental run's state (null: the scenario keeps none, and runs in full); those that do not fire
  -- only when p_idle (the state is kept). A scenario added by the
  -- recipe (docs/architecture.md) adds `select c.*, true, null::date, null::date from
  -- scheduler.<name>_candidates(...) c where p_scenario = '<name>'`: its candidates fire, and have no due date.
  select * from scheduler.inactivity_assessment(p_date, p_after, p_last, p_ids, p_idle) where p_scenario = 'inactivity'
  union all
  select * from scheduler.milestone_assessment(p_date, p_after, p_last, p_ids, p_idle) where p_scenario = 'milestone'
  union all
  select * from scheduler.certification_assessment(p_date, p_after, p_last, p_ids, p_idle) where p_scenario = 'certification_expiry'
$$;

COMMENT ON FUNCTION scheduler.candidates(p_scenario text, p_date date, p_after uuid, p_last uuid, p_ids uuid[], p_idle boolean) IS 'No fixed search_path on purpose: inlined into evaluate_batch and explain (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.candidates(p_scenario text, p_date date, p_after uuid, p_last uuid, p_ids uuid[], p_idle boolean) FROM PUBLIC;
