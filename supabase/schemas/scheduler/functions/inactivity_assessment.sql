-- Function scheduler.inactivity_assessment, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.inactivity_assessment(p_date date, p_after uuid, p_last uuid, p_ids uuid[], p_idle boolean) RETURNS TABLE(user_id uuid, organisation_id uuid, idempotency_key text, data jsonb, cooldown_days integer, priority integer, fires boolean, due_sent date, due_idle date)
    LANGUAGE sql STABLE
    AS $$
  -- Every active mentor of the batch where the scenario is enabled, assessed for p_date: whether the rule
  -- fires (then the notification's key, data, cooldown and priority), and for the incremental run's state the
  -- first later date it could fire if nothing changes, a lower bound: due_sent after a nudge dated p_date
  -- (sent, already sent or held out: the spacing after it, never at the cap), due_idle otherwise (the spell's
  -- threshold, the end of the spacing after the spell's last nudge, the day after a nudge dated later; never
  -- at the cap). An activity dated ahead of p_date is evaluate_batch's to add (it starts a new spell).
  select f.user_id, f.organisation_id,
         'inactivity:' || f.user_id::text || ':' || p_date::text,
         case when x.fires then jsonb_build_object(
           'days_inactive', f.days_inactive,
           'last_activity_date', f.last_activity_date,
           'inactivity_days', f.inactivity_days) end,
         f.cooldown_days, f.priority, x.fires,
         case when f.spell_nudges + 1 > f.max_repeats then 'infinity'::date else p_date + f.repeat_every_days end,
         case f.verdict
           when 'below_threshold' then f.spell_start + f.inactivity_days
           when 'later_nudge' then f.next_nudge + 1
           when 'spacing' then f.previous_nudge + f.repeat_every_days
           else 'infinity'::date
         end
  from scheduler.inactivity_facts(p_date, p_after, p_last, p_ids) f
  cross join lateral (select f.days_inactive >= f.inactivity_days and f.verdict = 'fires' as fires) x
  -- Mentors not active, and organisations where it is disabled, fire never: no row (never, to the state).
  -- The rows that do not fire only when asked (p_idle: the state is kept); otherwise the condition goes down
  -- to the facts, as the candidates' filter.
  where f.active and f.enabled and (p_idle or (f.days_inactive >= f.inactivity_days and f.verdict = 'fires'))
$$;

COMMENT ON FUNCTION scheduler.inactivity_assessment(p_date date, p_after uuid, p_last uuid, p_ids uuid[], p_idle boolean) IS 'No fixed search_path on purpose: inlined into evaluate_batch (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.inactivity_assessment(p_date date, p_after uuid, p_last uuid, p_ids uuid[], p_idle boolean) FROM PUBLIC;
