-- Function scheduler.nudge_outcomes, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.nudge_outcomes(p_from date, p_to date, p_as_of date) RETURNS TABLE(user_id uuid, organisation_id uuid, scenario text, evaluation_date date, idempotency_key text, held_out boolean, goal_on date, days_to_goal integer, within_7 boolean, within_14 boolean, outcome text)
    LANGUAGE sql STABLE
    AS $$
  -- Per nudge (notification or held-out) of [p_from, p_to], whether its goal was reached, as the source
  -- contract says on p_as_of (later activities are ignored, so a report of a past day can be repeated):
  -- * inactivity: the first activity dated on or after the nudge's date (one dated that day was registered
  --   after the morning's run: the rule saw none on or before it);
  -- * milestone (momentum): the first activity dated after the nudge's date;
  -- * certification_expiry: renewed, i.e. on record now with a later expiry date, either the same
  --   certification or another of the mentor's with the same name. The contract has no renewal date, so
  --   goal_on is unknown; within_7 and within_14 both say "renewed".
  -- outcome: reached (in 14 days; renewed), late (an activity after 14 days), pending (the window is still
  -- open: 14 days, or the certification has not expired yet), never (the window closed without the goal).
  select n.user_id, n.organisation_id, n.scenario, n.evaluation_date, n.idempotency_key, n.held_out,
         act.goal_on, act.goal_on - n.evaluation_date,
         case when n.scenario = 'certification_expiry' then cert.renewed
              else coalesce(act.goal_on - n.evaluation_date <= 7, false) end,
         case when n.scenario = 'certification_expiry' then cert.renewed
              else coalesce(act.goal_on - n.evaluation_date <= 14, false) end,
         case
           when n.scenario = 'certification_expiry' then
             case when cert.renewed then 'reached'
                  when p_as_of <= (n.data ->> 'expires_at')::date then 'pending'
                  else 'never' end
           when act.goal_on - n.evaluation_date <= 14 then 'reached'
           when act.goal_on is not null then 'late'
           when p_as_of - n.evaluation_date < 14 then 'pending'
           else 'never'
         end
  from scheduler.sent_nudges n
  left join lateral (
    select min(a.activity_date) as goal_on
    from scheduler_source.activities a
    where n.scenario in ('inactivity', 'milestone')
      and a.user_id = n.user_id and a.activity_date <= p_as_of
      and (a.activity_date > n.evaluation_date
           or (a.activity_date = n.evaluation_date and n.scenario = 'inactivity'))
  ) act on true
  left join lateral (
    select count(*) > 0 as renewed
    from scheduler_source.certifications ce
    where n.scenario = 'certification_expiry'
      and ce.user_id = n.user_id
      and (ce.id::text = n.data ->> 'certification_id' or ce.name = n.data ->> 'certification_name')
      and ce.expires_at > (n.data ->> 'expires_at')::date
  ) cert on true
  where n.evaluation_date >= p_from and n.evaluation_date <= p_to
$$;

COMMENT ON FUNCTION scheduler.nudge_outcomes(p_from date, p_to date, p_as_of date) IS 'Each nudge''s goal (activity in 7/14 days, certification renewed) and its outcome, computed from the source contract (docs/operations.md, "Do the nudges work?"). Plain SQL, one statement.';

REVOKE ALL ON FUNCTION scheduler.nudge_outcomes(p_from date, p_to date, p_as_of date) FROM PUBLIC;
