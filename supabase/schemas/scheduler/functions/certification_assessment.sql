-- Function scheduler.certification_assessment, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.certification_assessment(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) RETURNS TABLE(user_id uuid, organisation_id uuid, idempotency_key text, data jsonb, cooldown_days integer, priority integer, fires boolean, due_sent date, due_idle date)
    LANGUAGE sql STABLE
    AS $$
  -- Every certification of the batch's mentors valid on p_date, assessed: whether a rung fires (then the
  -- notification's key, data, cooldown and priority), and for the incremental run's state the first later
  -- date a rung could be sent if nothing changes: the next rung's date (expiry minus the rung's days) after
  -- p_date, sent or not; never when disabled or not active. A mentor without such a certification has no row
  -- (never without a change: a new certification is one).
  select f.user_id, f.organisation_id,
         'certification_expiry:' || f.user_id::text || ':' || f.certification_id::text || ':'
           || f.expires_at::text || ':' || f.rung::text,
         case when x.fires then jsonb_build_object(
           'certification_id', f.certification_id, 'certification_name', f.certification_name,
           'expires_at', f.expires_at, 'days_left', f.days_left, 'rung', f.rung) end,
         f.cooldown_days, f.priority, x.fires, x.due, x.due
  from scheduler.certification_facts(p_date, p_after, p_last, p_ids) f
  cross join lateral (
    select f.active and f.enabled and f.rung is not null and f.verdict = 'fires' as fires,
           case when f.active and f.enabled then coalesce(f.next_rung_date, 'infinity'::date)
                else 'infinity'::date end as due
  ) x
$$;

COMMENT ON FUNCTION scheduler.certification_assessment(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) IS 'No fixed search_path on purpose: inlined into evaluate_batch (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.certification_assessment(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) FROM PUBLIC;
