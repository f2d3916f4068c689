-- Function scheduler.milestone_due, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.milestone_due(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) RETURNS TABLE(user_id uuid, due date)
    LANGUAGE sql STABLE
    AS $$
  -- After p_date's evaluation, the first later date a level could be sent if nothing changes: the next day
  -- when the rule fires then (a level held back by a cooldown), otherwise the date of the next activity
  -- registered ahead (the count moves only with an activity, and every other activity is a change the feed
  -- notes). A disabled scenario and a mentor not active: never without a change.
  select f.user_id,
         case when not (f.active and f.enabled) then 'infinity'::date
              when f.verdict = 'fires' then p_date + 1
              else coalesce(ahead.activity_date, 'infinity'::date)
         end
  from scheduler.milestone_facts(p_date + 1, p_after, p_last, p_ids) f
  left join lateral (
    select min(a.activity_date) as activity_date
    from scheduler_source.activities a
    where a.user_id = f.user_id and a.activity_date > p_date + 1
  ) ahead on true
$$;

COMMENT ON FUNCTION scheduler.milestone_due(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) IS 'No fixed search_path on purpose: inlined into evaluate_batch (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.milestone_due(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) FROM PUBLIC;
