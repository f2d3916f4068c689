-- Function scheduler.inactivity_due, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.inactivity_due(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) RETURNS TABLE(user_id uuid, due date)
    LANGUAGE sql STABLE
    AS $$
  -- After p_date's evaluation (its nudge written), the first later date the rule could fire if nothing
  -- changes, read from the rule's own facts for the next day: fires then (a nudge held back by a cooldown
  -- too), or the threshold of the spell, the end of the spacing after the spell's last nudge, the day after a
  -- nudge already dated later. The cap, a disabled scenario and a mentor not active: never without a change.
  -- An activity dated after the next day (registered ahead) starts a new spell on its date: its threshold.
  -- A lower bound: a date too early costs one more evaluation, a date too late would miss a nudge.
  select f.user_id,
         least(case f.verdict
                 when 'fires' then p_date + 1
                 when 'below_threshold' then f.spell_start + f.inactivity_days
                 when 'later_nudge' then f.next_nudge + 1
                 when 'spacing' then f.previous_nudge + f.repeat_every_days
                 else 'infinity'::date
               end,
               case when f.active and f.enabled then ahead.activity_date + f.inactivity_days end)
  from scheduler.inactivity_facts(p_date + 1, p_after, p_last, p_ids) f
  left join lateral (
    select min(a.activity_date) as activity_date
    from scheduler_source.activities a
    where a.user_id = f.user_id and a.activity_date > p_date + 1
  ) ahead on true
$$;

COMMENT ON FUNCTION scheduler.inactivity_due(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) IS 'No fixed search_path on purpose: inlined into evaluate_batch (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.inactivity_due(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) FROM PUBLIC;
