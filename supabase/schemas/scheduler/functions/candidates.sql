-- Function scheduler.candidates, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.candidates(p_scenario text, p_date date, p_after uuid, p_last uuid, p_ids uuid[]) RETURNS TABLE(user_id uuid, organisation_id uuid, idempotency_key text, data jsonb, cooldown_days integer, priority integer, fires boolean, due_sent date, due_idle date)
    LANGUAGE sql STABLE
    AS $$
  -- Every mentor (certification) of the batch, assessed for the scenario: whether it fires, and the due dates
  -- of the incremental run's state (null: the scenario keeps none, and runs in full). A scenario added by the
  -- recipe (docs/architecture.md) adds `select c.*, true, null::date, null::date from
  -- scheduler.<name>_candidates(...) c where p_scenario = '<name>'`: its candidates fire, and have no due date.
  select * from scheduler.inactivity_assessment(p_date, p_after, p_last, p_ids) where p_scenario = 'inactivity'
  union all
  select * from scheduler.milestone_assessment(p_date, p_after, p_last, p_ids) where p_scenario = 'milestone'
  union all
  select * from scheduler.certification_assessment(p_date, p_after, p_last, p_ids) where p_scenario = 'certification_expiry'
$$;

COMMENT ON FUNCTION scheduler.candidates(p_scenario text, p_date date, p_after uuid, p_last uuid, p_ids uuid[]) IS 'No fixed search_path on purpose: inlined into evaluate_batch and explain (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.candidates(p_scenario text, p_date date, p_after uuid, p_last uuid, p_ids uuid[]) FROM PUBLIC;
