-- Function scheduler.classified_candidates, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.classified_candidates(p_scenario text, p_date date, p_after uuid, p_last uuid, p_orgs uuid[], p_ids uuid[], p_idle boolean) RETURNS TABLE(user_id uuid, organisation_id uuid, idempotency_key text, data jsonb, cooldown_days integer, priority integer, sent_on date, cooldown_until date, state text, due date)
    LANGUAGE sql STABLE
    AS $$
  -- The batch's assessed rows (idle ones, where the rule does not fire, only when p_idle): idle; otherwise already_sent, cooldown,
  -- held_out (the control group: the same checks as the others, recorded instead of notified) or would_fire.
  -- due: the first later date the scenario could fire for the mentor if nothing changes (the incremental run's
  -- state): after a nudge dated p_date (sent now, sent before, held out), the assessment's due_sent; the next
  -- day for a nudge a cooldown held back; due_idle otherwise. The duplicate and cooldown probes only for the
  -- rows that fire.
  select c.user_id, c.organisation_id, c.idempotency_key, c.data, c.cooldown_days, c.priority,
         dup.sent_on, cool.until, st.state,
         case st.state when 'idle' then c.due_idle when 'cooldown' then p_date + 1 else c.due_sent end
  from scheduler.candidates(p_scenario, p_date, p_after, p_last, p_ids, p_idle) c
  -- offset 0: kept a subquery, so that `c.fires` gates the probe (a one-time filter) instead of filtering
  -- its result after a probe for every row.
  left join lateral (select d.sent_on from scheduler.sent_on(c.idempotency_key) d where c.fires offset 0) dup on true
  left join lateral (select k.until
                     from scheduler.cooldown_until(c.user_id, p_scenario, p_date, c.cooldown_days) k
                     where c.fires offset 0) cool on true
  left join scheduler.holdout_config(p_scenario) hc on hc.organisation_id = c.organisation_id
  cross join lateral (
    select case when not c.fires then 'idle'
                when dup.sent_on is not null then 'already_sent'
                when cool.until is not null then 'cooldown'
                when scheduler.holdout_bucket(c.organisation_id, c.user_id, p_scenario) < coalesce(hc.holdout_percent, 0) * 100
                  then 'held_out'
                else 'would_fire' end as state
  ) st
  where p_orgs is null or c.organisation_id = any (p_orgs)
$$;

COMMENT ON FUNCTION scheduler.classified_candidates(p_scenario text, p_date date, p_after uuid, p_last uuid, p_orgs uuid[], p_ids uuid[], p_idle boolean) IS 'No fixed search_path on purpose: inlined into evaluate_batch and explain (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.classified_candidates(p_scenario text, p_date date, p_after uuid, p_last uuid, p_orgs uuid[], p_ids uuid[], p_idle boolean) FROM PUBLIC;
