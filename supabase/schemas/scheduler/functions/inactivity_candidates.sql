-- Function scheduler.inactivity_candidates, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.inactivity_candidates(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) RETURNS TABLE(user_id uuid, organisation_id uuid, idempotency_key text, data jsonb, cooldown_days integer, priority integer)
    LANGUAGE sql STABLE
    AS $$
  select f.user_id, f.organisation_id,
         'inactivity:' || f.user_id::text || ':' || p_date::text,
         jsonb_build_object(
           'days_inactive', f.days_inactive,
           'last_activity_date', f.last_activity_date,
           'inactivity_days', f.inactivity_days),
         f.cooldown_days, f.priority
  from scheduler.inactivity_facts(p_date, p_after, p_last, p_ids) f
  where f.active and f.enabled and f.days_inactive >= f.inactivity_days and f.verdict = 'fires'
$$;

COMMENT ON FUNCTION scheduler.inactivity_candidates(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) IS 'No fixed search_path on purpose: inlined into evaluate_batch (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.inactivity_candidates(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) FROM PUBLIC;
