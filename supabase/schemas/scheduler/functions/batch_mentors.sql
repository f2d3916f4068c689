-- Function scheduler.batch_mentors, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.batch_mentors(p_after uuid, p_last uuid, p_ids uuid[]) RETURNS TABLE(id uuid, organisation_id uuid, status text, joined_on date)
    LANGUAGE sql STABLE
    AS $$
  -- The mentors a batch's rules read, whatever their status: its key range (p_ids null, a full batch), or of
  -- that range only the ids given (an incremental batch). Two branches, each behind a condition on p_ids alone:
  -- under a generic plan (a full batch's, planned once per connection) such a condition is a one-time filter,
  -- which the planner leaves out of its row estimates, so the full batch is planned as the range it is, as
  -- before the incremental run; where `p_ids is null or m.id = any (p_ids)` made it guess at the range's half.
  -- Planned with an incremental batch's values, the first branch folds away and the ids are looked up by the
  -- primary key.
  select m.id, m.organisation_id, m.status, m.joined_on
  from scheduler_source.peer_mentors m
  where p_ids is null and m.id > p_after and m.id <= p_last
  union all
  select m.id, m.organisation_id, m.status, m.joined_on
  from scheduler_source.peer_mentors m
  where m.id = any (p_ids) and m.id > p_after and m.id <= p_last
$$;

COMMENT ON FUNCTION scheduler.batch_mentors(p_after uuid, p_last uuid, p_ids uuid[]) IS 'No fixed search_path on purpose: inlined into evaluate_batch and explain (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.batch_mentors(p_after uuid, p_last uuid, p_ids uuid[]) FROM PUBLIC;
