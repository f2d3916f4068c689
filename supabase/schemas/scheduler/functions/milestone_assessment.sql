-- Function scheduler.milestone_assessment, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.milestone_assessment(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) RETURNS TABLE(user_id uuid, organisation_id uuid, idempotency_key text, data jsonb, cooldown_days integer, priority integer, fires boolean, due_sent date, due_idle date)
    LANGUAGE sql STABLE
    AS $$
  -- Every mentor of the batch, assessed for p_date: whether a level fires (then the notification's key, data,
  -- cooldown and priority), and for the incremental run's state the first later date a level could be sent if
  -- nothing changes: the date of the next activity dated ahead of p_date (the count moves only with an
  -- activity, and every other activity is a change the feed notes), sent or not; never when disabled or not
  -- active.
  select f.user_id, f.organisation_id,
         'milestone:' || f.user_id::text || ':' || f.level::text,
         case when x.fires then jsonb_build_object('level', f.level, 'activity_count', f.activity_count,
                                                   'levels_reached', f.levels_reached) end,
         f.cooldown_days, f.priority, x.fires,
         coalesce(ahead.activity_date, 'infinity'::date), coalesce(ahead.activity_date, 'infinity'::date)
  from scheduler.milestone_facts(p_date, p_after, p_last, p_ids) f
  cross join lateral (
    select f.active and f.enabled and f.level is not null and f.verdict = 'fires' as fires
  ) x
  left join lateral (
    select pg_catalog.min(a.activity_date) as activity_date
    from scheduler_source.activities a
    where f.active and f.enabled and a.user_id = f.user_id and a.activity_date > p_date
  ) ahead on true
$$;

COMMENT ON FUNCTION scheduler.milestone_assessment(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) IS 'No fixed search_path on purpose: inlined into evaluate_batch (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.milestone_assessment(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) FROM PUBLIC;
