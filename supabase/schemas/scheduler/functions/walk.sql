-- Function scheduler.walk, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.walk(p_after uuid, p_upper uuid, p_orgs uuid[]) RETURNS TABLE(id uuid, organisation_id uuid)
    LANGUAGE sql STABLE
    AS $$
  select m.id, m.organisation_id
  from scheduler_source.peer_mentors m
  where m.status = 'active' and m.id > p_after and m.id <= p_upper
    and (p_orgs is null or m.organisation_id = any (p_orgs))
$$;

COMMENT ON FUNCTION scheduler.walk(p_after uuid, p_upper uuid, p_orgs uuid[]) IS 'No fixed search_path on purpose: inlined into evaluate_batch and explain (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.walk(p_after uuid, p_upper uuid, p_orgs uuid[]) FROM PUBLIC;
