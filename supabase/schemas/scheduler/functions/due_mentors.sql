-- Function scheduler.due_mentors, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.due_mentors(p_scenario text, p_date date, p_after uuid, p_upper uuid, p_orgs uuid[], p_limit integer) RETURNS TABLE(id uuid)
    LANGUAGE sql STABLE
    AS $$
  -- The incremental run's batch: the first p_limit mentors of the part after p_after (in id order) that it
  -- must evaluate for p_scenario on p_date: those whose state says the scenario could fire by then (a lower
  -- bound of the first date it could), and those with a change noted in the feed and not yet read (new
  -- mentors, reactivated ones, moves and every activity or certification written). Read from the state's
  -- next_due index and the feed, not from the mentors: the cost follows the due and changed mentors, not the
  -- population. In the slot's organisations whatever their status: a mentor paused since has its change read
  -- and its due dates set to never (the rules' verdict not_active), so that it leaves the due set.
  select d.id
  from (
    select s.user_id as id
    from scheduler.mentor_state s
    where s.next_due <= p_date and s.user_id > p_after and s.user_id <= p_upper
      and case p_scenario when 'inactivity' then s.inactivity_due
                          when 'milestone' then s.milestone_due
                          else s.certification_due end <= p_date
    union
    select c.user_id
    from scheduler.mentor_changes c
    where c.user_id > p_after and c.user_id <= p_upper
      -- Activities do not move the certification rule.
      and not (p_scenario = 'certification_expiry' and c.activities_only)
  ) d
  -- Planned with the batch's values (evaluate_batch's EXECUTE): without a slot (p_orgs null) the condition
  -- folds away and no mentor is looked up; the sort keeps the first p_limit of the due set.
  where p_orgs is null
     or exists (select 1 from scheduler_source.peer_mentors m
                where m.id = d.id and m.organisation_id = any (p_orgs))
  order by d.id
  limit p_limit
$$;

COMMENT ON FUNCTION scheduler.due_mentors(p_scenario text, p_date date, p_after uuid, p_upper uuid, p_orgs uuid[], p_limit integer) IS 'Incremental run: the next batch of due or changed mentors. No fixed search_path on purpose: run by evaluate_batch (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.due_mentors(p_scenario text, p_date date, p_after uuid, p_upper uuid, p_orgs uuid[], p_limit integer) FROM PUBLIC;
