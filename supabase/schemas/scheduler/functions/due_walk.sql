-- Function scheduler.due_walk, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.due_walk(p_scenario text, p_date date, p_after uuid, p_upper uuid, p_orgs uuid[]) RETURNS TABLE(id uuid, organisation_id uuid, due boolean)
    LANGUAGE sql STABLE
    AS $$
  -- The walk, each mentor marked due when the incremental run must evaluate it for p_scenario on p_date: no
  -- state yet (new, reactivated, or the state was lost), the scenario's due date reached (a lower bound of the
  -- first date it could fire), a change noted in the feed and not yet read, or a state written for a later
  -- date (a backfill: the state says nothing about the days before it).
  select w.id, w.organisation_id,
         s.user_id is null or s.evaluated_on > p_date or c.user_id is not null
           or case p_scenario when 'inactivity' then s.inactivity_due
                              when 'milestone' then s.milestone_due
                              else s.certification_due end <= p_date
  -- The range on the state and the feed too: a merge join scans them from their first key otherwise, at
  -- every batch (quadratic in the mentors).
  from scheduler.walk(p_after, p_upper, p_orgs) w
  left join scheduler.mentor_state s on s.user_id = w.id and s.user_id > p_after and s.user_id <= p_upper
  left join scheduler.mentor_changes c on c.user_id = w.id and c.user_id > p_after and c.user_id <= p_upper
$$;

COMMENT ON FUNCTION scheduler.due_walk(p_scenario text, p_date date, p_after uuid, p_upper uuid, p_orgs uuid[]) IS 'No fixed search_path on purpose: inlined into evaluate_batch (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.due_walk(p_scenario text, p_date date, p_after uuid, p_upper uuid, p_orgs uuid[]) FROM PUBLIC;
