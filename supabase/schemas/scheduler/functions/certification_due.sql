-- Function scheduler.certification_due, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.certification_due(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) RETURNS TABLE(user_id uuid, due date)
    LANGUAGE sql STABLE
    AS $$
  -- After p_date's evaluation, per certification still valid the next day, the first later date a rung
  -- could be sent if nothing changes: the next day when the rule fires then (a rung held back by a
  -- cooldown), otherwise the next rung's date (expiry minus the rung's days) after that day. A mentor without
  -- such a certification has no row (never without a change: a new certification is one).
  select f.user_id,
         case when not (f.active and f.enabled) then 'infinity'::date
              when f.verdict = 'fires' then p_date + 1
              else coalesce(nr.rung_date, 'infinity'::date)
         end
  from scheduler.certification_facts(p_date + 1, p_after, p_last, p_ids) f
  join scheduler.effective_config('certification_expiry') c on c.organisation_id = f.organisation_id
  cross join lateral (
    select min(f.expires_at - x.v::integer) as rung_date
    from pg_catalog.jsonb_array_elements_text(c.params -> 'rungs') x(v)
    where f.expires_at - x.v::integer > p_date + 1
  ) nr
$$;

COMMENT ON FUNCTION scheduler.certification_due(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) IS 'No fixed search_path on purpose: inlined into evaluate_batch (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.certification_due(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) FROM PUBLIC;
