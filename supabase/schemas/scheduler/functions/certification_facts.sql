-- Function scheduler.certification_facts, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.certification_facts(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) RETURNS TABLE(user_id uuid, organisation_id uuid, active boolean, enabled boolean, certification_id uuid, certification_name text, expires_at date, days_left integer, rung integer, widest_rung integer, narrower_sent integer, cooldown_days integer, priority integer, verdict text, next_rung_date date)
    LANGUAGE sql STABLE
    AS $$
  select m.id, m.organisation_id, m.status = 'active', c.enabled, ce.id, ce.name, ce.expires_at,
         ce.expires_at - p_date, r.rung, r.widest, narrower.rung, c.cooldown_days, c.priority,
         case
           when m.status <> 'active' then 'not_active'
           when not c.enabled then 'disabled'
           when r.rung is null then 'beyond_rungs'
           when narrower.rung is not null then 'narrower_sent'
           else 'fires'
         end,
         r.next_rung_date
  -- The batch's certifications (its range, or of it the ids of an incremental batch) and their mentors:
  -- read from the certifications, which are fewer than the mentors (two gated sides made the planner join
  -- them in a loop: 3.5 s a pass at 100k against 0.12 s).
  from scheduler.batch_certifications(p_date, p_after, p_last, p_ids) ce
  join scheduler_source.peer_mentors m on m.id = ce.user_id
  join scheduler.effective_config('certification_expiry') c on c.organisation_id = m.organisation_id
  cross join lateral (
    select min(x.v::integer) filter (where x.v::integer >= ce.expires_at - p_date) as rung,
           max(x.v::integer) as widest,
           -- The first date after p_date on which another rung is reached (the incremental run's due date).
           min(ce.expires_at - x.v::integer) filter (where ce.expires_at - x.v::integer > p_date) as next_rung_date
    from jsonb_array_elements_text(c.params -> 'rungs') x(v)
  ) r
  left join lateral (
    select min((n.data ->> 'rung')::integer) as rung
    from scheduler.sent_nudges n
    -- Outside every rung nothing fires: no probe.
    where r.rung is not null and n.user_id = m.id and n.scenario = 'certification_expiry'
      and n.data ->> 'certification_id' = ce.id::text
      and (n.data ->> 'expires_at')::date = ce.expires_at
      and (n.data ->> 'rung')::integer < r.rung
  ) narrower on true
$$;

COMMENT ON FUNCTION scheduler.certification_facts(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) IS 'No fixed search_path on purpose: inlined into evaluate_batch (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.certification_facts(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) FROM PUBLIC;
