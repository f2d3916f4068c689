-- Function scheduler.certification_assessment, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.certification_assessment(p_date date, p_after uuid, p_last uuid, p_ids uuid[], p_idle boolean) RETURNS TABLE(user_id uuid, organisation_id uuid, idempotency_key text, data jsonb, cooldown_days integer, priority integer, fires boolean, due_sent date, due_idle date)
    LANGUAGE sql STABLE
    AS $$
  -- Every certification of the batch's mentors valid on p_date, assessed: whether a rung fires (then the
  -- notification's key, data, cooldown and priority), and for the incremental run's state the first later
  -- date a rung could be sent if nothing changes: the next rung's date (expiry minus the rung's days) after
  -- p_date, sent or not. Mentors not active, organisations where it is disabled and mentors without such a
  -- certification have no row (never, to the state, without a change: a new certification is one).
  select f.user_id, f.organisation_id,
         'certification_expiry:' || f.user_id::text || ':' || f.certification_id::text || ':'
           || f.expires_at::text || ':' || f.rung::text,
         case when x.fires then jsonb_build_object(
           'certification_id', f.certification_id, 'certification_name', f.certification_name,
           'expires_at', f.expires_at, 'days_left', f.days_left, 'rung', f.rung) end,
         f.cooldown_days, f.priority, x.fires, x.due, x.due
  from scheduler.certification_facts(p_date, p_after, p_last, p_ids) f
  cross join lateral (
    select f.rung is not null and f.verdict = 'fires' as fires, coalesce(f.next_rung_date, 'infinity'::date) as due
  ) x
  where f.active and f.enabled
    -- The rows that do not fire only when asked (p_idle: the state is kept).
    and (p_idle or (f.rung is not null and f.verdict = 'fires'))
    -- Otherwise only the window of the widest rung where the scenario is enabled (once per batch): outside it
    -- no rung is reached. A condition of its own, without a column of the rows on its right, so that it stays
    -- an index condition on the certifications under a generic plan too (inside the OR above it was a filter
    -- on every certification of the range).
    and f.expires_at <= case when p_idle then 'infinity'::date
                             else p_date + (select max(x.v::integer)
                                            from scheduler.effective_config('certification_expiry') ec
                                            cross join lateral pg_catalog.jsonb_array_elements_text(ec.params -> 'rungs') x(v)
                                            where ec.enabled) end
$$;

COMMENT ON FUNCTION scheduler.certification_assessment(p_date date, p_after uuid, p_last uuid, p_ids uuid[], p_idle boolean) IS 'No fixed search_path on purpose: inlined into evaluate_batch (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.certification_assessment(p_date date, p_after uuid, p_last uuid, p_ids uuid[], p_idle boolean) FROM PUBLIC;
