-- Function scheduler.classified_candidates, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.classified_candidates(p_scenario text, p_date date, p_after uuid, p_last uuid, p_orgs uuid[], p_ids uuid[]) RETURNS TABLE(user_id uuid, organisation_id uuid, idempotency_key text, data jsonb, cooldown_days integer, priority integer, sent_on date, cooldown_until date, state text)
    LANGUAGE sql STABLE
    AS $$
  select c.user_id, c.organisation_id, c.idempotency_key, c.data, c.cooldown_days, c.priority,
         dup.sent_on, cool.until,
         case when dup.sent_on is not null then 'already_sent'
              when cool.until is not null then 'cooldown'
              -- The holdout (the control group): the same checks as the others, recorded instead of notified.
              when scheduler.holdout_bucket(c.organisation_id, c.user_id, p_scenario) < coalesce(hc.holdout_percent, 0) * 100
                then 'held_out'
              else 'would_fire' end
  from scheduler.candidates(p_scenario, p_date, p_after, p_last, p_ids) c
  left join lateral scheduler.sent_on(c.idempotency_key) dup on true
  left join lateral scheduler.cooldown_until(c.user_id, p_scenario, p_date, c.cooldown_days) cool on true
  left join scheduler.holdout_config(p_scenario) hc on hc.organisation_id = c.organisation_id
  where p_orgs is null or c.organisation_id = any (p_orgs)
$$;

COMMENT ON FUNCTION scheduler.classified_candidates(p_scenario text, p_date date, p_after uuid, p_last uuid, p_orgs uuid[], p_ids uuid[]) IS 'No fixed search_path on purpose: inlined into evaluate_batch and explain (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.classified_candidates(p_scenario text, p_date date, p_after uuid, p_last uuid, p_orgs uuid[], p_ids uuid[]) FROM PUBLIC;
