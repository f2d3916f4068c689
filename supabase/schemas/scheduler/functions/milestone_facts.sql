-- Function scheduler.milestone_facts, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.milestone_facts(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) RETURNS TABLE(user_id uuid, organisation_id uuid, active boolean, enabled boolean, activity_count integer, level integer, levels_reached jsonb, next_level integer, sent_level integer, cooldown_days integer, priority integer, verdict text)
    LANGUAGE sql STABLE
    AS $$
  select m.id, m.organisation_id, m.status = 'active', c.enabled, ac.n, lv.level, lv.reached, lv.next_level,
         higher.level, c.cooldown_days, c.priority,
         case
           when m.status <> 'active' then 'not_active'
           when not c.enabled then 'disabled'
           when lv.level is null then 'below_threshold'
           when higher.level is not null then 'already_sent'
           else 'fires'
         end
  -- The batch's mentors (its range, or of it the ids of an incremental batch).
  from scheduler.batch_mentors(p_after, p_last, p_ids) m
  join scheduler.effective_config('milestone') c on c.organisation_id = m.organisation_id
  cross join lateral (
    select count(*)::integer as n
    from scheduler_source.activities a
    where a.user_id = m.id and a.activity_date <= p_date
  ) ac
  cross join lateral (
    select max(l.v::integer) filter (where l.v::integer <= ac.n) as level,
           jsonb_agg(l.v::integer order by l.v::integer) filter (where l.v::integer <= ac.n) as reached,
           min(l.v::integer) filter (where l.v::integer > ac.n) as next_level
    from jsonb_array_elements_text(c.params -> 'levels') l(v)
  ) lv
  left join lateral (
    select max((n.data ->> 'level')::integer) as level
    from scheduler.sent_nudges n
    -- Below the first level nothing fires: no probe (a one-time filter of the lateral).
    where lv.level is not null
      and n.user_id = m.id and n.scenario = 'milestone' and (n.data ->> 'level')::integer >= lv.level
  ) higher on true
$$;

COMMENT ON FUNCTION scheduler.milestone_facts(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) IS 'No fixed search_path on purpose: inlined into evaluate_batch (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.milestone_facts(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) FROM PUBLIC;
