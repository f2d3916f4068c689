-- Function scheduler.inactivity_facts, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.inactivity_facts(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) RETURNS TABLE(user_id uuid, organisation_id uuid, active boolean, enabled boolean, inactivity_days integer, repeat_every_days integer, max_repeats integer, cooldown_days integer, priority integer, last_activity_date date, spell_start date, days_inactive integer, spell_nudges integer, previous_nudge date, next_nudge date, verdict text)
    LANGUAGE sql STABLE
    AS $$
  select m.id, m.organisation_id, m.status = 'active', c.enabled, c.inactivity_days,
         c.repeat_every_days, c.max_repeats, c.cooldown_days, c.priority,
         la.last_date, coalesce(la.last_date, m.joined_on), p_date - coalesce(la.last_date, m.joined_on),
         coalesce(sp.nudges, 0), sp.previous_nudge, sp.next_nudge,
         case
           when m.status <> 'active' then 'not_active'
           when not c.enabled then 'disabled'
           when p_date - coalesce(la.last_date, m.joined_on) < c.inactivity_days then 'below_threshold'
           when sp.next_nudge is not null then 'later_nudge'
           when coalesce(sp.nudges, 0) > c.max_repeats then 'repeat_cap'
           when p_date - sp.previous_nudge < c.repeat_every_days then 'spacing'
           else 'fires'
         end
  -- The batch's mentors (its range, or of it the ids of an incremental batch).
  from scheduler.batch_mentors(p_after, p_last, p_ids) m
  join (select ec.organisation_id, ec.enabled, ec.cooldown_days, ec.priority,
               (ec.params ->> 'inactivity_days')::integer as inactivity_days,
               coalesce((ec.params ->> 'repeat_every_days')::integer, 14) as repeat_every_days,
               coalesce((ec.params ->> 'max_repeats')::integer, 2) as max_repeats
        from scheduler.effective_config('inactivity') ec offset 0) c on c.organisation_id = m.organisation_id
  cross join lateral (
    select max(a.activity_date) as last_date
    from scheduler_source.activities a
    where a.user_id = m.id and a.activity_date <= p_date
  ) la
  left join lateral (
    select (count(*) filter (where n.evaluation_date < p_date))::integer as nudges,
           max(n.evaluation_date) filter (where n.evaluation_date < p_date) as previous_nudge,
           min(n.evaluation_date) filter (where n.evaluation_date > p_date) as next_nudge
    from scheduler.sent_nudges n
    where p_date - coalesce(la.last_date, m.joined_on) >= c.inactivity_days
      and n.user_id = m.id and n.scenario = 'inactivity'
      and n.evaluation_date > coalesce(la.last_date, m.joined_on) and n.evaluation_date <> p_date
  ) sp on true
$$;

COMMENT ON FUNCTION scheduler.inactivity_facts(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) IS 'No fixed search_path on purpose: inlined into evaluate_batch (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.inactivity_facts(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) FROM PUBLIC;
