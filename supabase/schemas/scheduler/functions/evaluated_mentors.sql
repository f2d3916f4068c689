-- Function scheduler.evaluated_mentors, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.evaluated_mentors(p_scenario text, p_after uuid, p_last uuid, p_orgs uuid[], p_ids uuid[]) RETURNS TABLE(id uuid, organisation_id uuid)
    LANGUAGE sql STABLE
    AS $$
  -- The walk, or of it only the ids given (an incremental batch): two branches gated by p_ids alone, as in
  -- scheduler.batch_mentors (with `p_ids is null or w.id = any (p_ids)` a generic plan expected one mentor and
  -- counted a full batch's with a loop over the configuration per mentor: 145 ms for 20,000).
  select w.id, w.organisation_id
  from (select w.id, w.organisation_id from scheduler.walk(p_after, p_last, p_orgs) w where p_ids is null
        union all
        select w.id, w.organisation_id from scheduler.walk(p_after, p_last, p_orgs) w where w.id = any (p_ids)) w
  where w.organisation_id in (select ec.organisation_id from scheduler.effective_config(p_scenario) ec
                              where ec.enabled)
$$;

COMMENT ON FUNCTION scheduler.evaluated_mentors(p_scenario text, p_after uuid, p_last uuid, p_orgs uuid[], p_ids uuid[]) IS 'No fixed search_path on purpose: inlined into evaluate_batch and explain (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.evaluated_mentors(p_scenario text, p_after uuid, p_last uuid, p_orgs uuid[], p_ids uuid[]) FROM PUBLIC;
