-- Function scheduler.evaluated_mentors, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.evaluated_mentors(p_scenario text, p_after uuid, p_last uuid, p_orgs uuid[], p_ids uuid[]) RETURNS TABLE(id uuid, organisation_id uuid)
    LANGUAGE sql STABLE
    AS $$
  select w.id, w.organisation_id
  from scheduler.walk(p_after, p_last, p_orgs) w
  where (p_ids is null or w.id = any (p_ids))
    and w.organisation_id in (select ec.organisation_id from scheduler.effective_config(p_scenario) ec
                              where ec.enabled)
$$;

COMMENT ON FUNCTION scheduler.evaluated_mentors(p_scenario text, p_after uuid, p_last uuid, p_orgs uuid[], p_ids uuid[]) IS 'No fixed search_path on purpose: inlined into evaluate_batch and explain (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.evaluated_mentors(p_scenario text, p_after uuid, p_last uuid, p_orgs uuid[], p_ids uuid[]) FROM PUBLIC;
