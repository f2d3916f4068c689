-- Function scheduler.milestone_assessment, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.milestone_assessment(p_date date, p_after uuid, p_last uuid, p_ids uuid[], p_idle boolean) RETURNS TABLE(user_id uuid, organisation_id uuid, idempotency_key text, data jsonb, cooldown_days integer, priority integer, fires boolean, due_sent date, due_idle date)
    LANGUAGE sql STABLE
    AS $$
  -- Every active mentor of the batch where the scenario is enabled, assessed for p_date: whether a level
  -- fires (then the notification's key, data, cooldown and priority). For the incremental run's state: never,
  -- sent or not, if nothing changes: the count moves only with an activity, which the feed notes, or which is
  -- dated ahead of p_date (evaluate_batch adds that date).
  select f.user_id, f.organisation_id,
         'milestone:' || f.user_id::text || ':' || f.level::text,
         case when x.fires then jsonb_build_object('level', f.level, 'activity_count', f.activity_count,
                                                   'levels_reached', f.levels_reached) end,
         f.cooldown_days, f.priority, x.fires, 'infinity'::date, 'infinity'::date
  from scheduler.milestone_facts(p_date, p_after, p_last, p_ids) f
  cross join lateral (select f.level is not null and f.verdict = 'fires' as fires) x
  -- Mentors not active, and organisations where it is disabled, fire never: no row (never, to the state).
  -- The rows that do not fire only when asked (p_idle: the state is kept).
  where f.active and f.enabled and (p_idle or (f.level is not null and f.verdict = 'fires'))
$$;

COMMENT ON FUNCTION scheduler.milestone_assessment(p_date date, p_after uuid, p_last uuid, p_ids uuid[], p_idle boolean) IS 'No fixed search_path on purpose: inlined into evaluate_batch (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.milestone_assessment(p_date date, p_after uuid, p_last uuid, p_ids uuid[], p_idle boolean) FROM PUBLIC;
