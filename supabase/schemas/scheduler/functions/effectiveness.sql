-- Function scheduler.effectiveness, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.effectiveness(p_from date, p_to date, p_as_of date DEFAULT NULL::date) RETURNS TABLE(organisation_id uuid, organisation text, scenario text, week date, nudged bigint, nudged_reached_7 bigint, nudged_reached_14 bigint, held_out bigint, held_out_reached_7 bigint, held_out_reached_14 bigint, pending bigint, difference_7 numeric, lower_7 numeric, upper_7 numeric, difference_14 numeric, lower_14 numeric, upper_14 numeric, note text)
    LANGUAGE sql STABLE
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
  -- JIT off: the planner's estimate of the outcomes' lateral joins is far above the real cost, and compiling
  -- the statement took 3.8 of its 5.4 s over 11,590 nudges (the benchmark at 10k); without it, 0.2 s.
  -- Per organisation, scenario and ISO week (Monday) of the nudges' evaluation dates in [p_from, p_to]: the
  -- nudged group and the held-out group, each the nudges whose outcome is decided today (pending ones are
  -- counted apart), how many reached the goal within 7 and 14 days, and the difference of the two shares in
  -- percentage points with its 95 % Newcombe interval. Privacy: a group of fewer than 10 distinct mentors is
  -- never shown (its counts are null, and so is the difference); the note says so. Nudges, not mentors,
  -- are the unit of the shares (a mentor nudged twice in a week counts twice).
  with o as (
    -- As of p_as_of (default: today in ops_settings' time zone); a later activity is not seen.
    select x.* from scheduler.nudge_outcomes(p_from, p_to, coalesce(p_as_of,
      (select (pg_catalog.now() at time zone s.time_zone)::date from scheduler.ops_settings s))) x
  ),
  g as (
    select o.organisation_id, o.scenario, pg_catalog.date_trunc('week', o.evaluation_date)::date as week,
           count(*) filter (where not o.held_out and o.outcome <> 'pending') as n1,
           count(distinct o.user_id) filter (where not o.held_out and o.outcome <> 'pending') as m1,
           count(*) filter (where not o.held_out and o.outcome <> 'pending' and o.within_7) as a1,
           count(*) filter (where not o.held_out and o.outcome <> 'pending' and o.within_14) as b1,
           count(*) filter (where o.held_out and o.outcome <> 'pending') as n2,
           count(distinct o.user_id) filter (where o.held_out and o.outcome <> 'pending') as m2,
           count(*) filter (where o.held_out and o.outcome <> 'pending' and o.within_7) as a2,
           count(*) filter (where o.held_out and o.outcome <> 'pending' and o.within_14) as b2,
           count(*) filter (where o.outcome = 'pending') as pending
    from o
    group by 1, 2, 3
  )
  select g.organisation_id, org.name, g.scenario, g.week,
         case when g.m1 >= 10 then g.n1 end, case when g.m1 >= 10 then g.a1 end, case when g.m1 >= 10 then g.b1 end,
         case when g.m2 >= 10 then g.n2 end, case when g.m2 >= 10 then g.a2 end, case when g.m2 >= 10 then g.b2 end,
         g.pending,
         pg_catalog.round((100 * d7.difference)::numeric, 1), pg_catalog.round((100 * d7.lower)::numeric, 1),
         pg_catalog.round((100 * d7.upper)::numeric, 1),
         pg_catalog.round((100 * d14.difference)::numeric, 1), pg_catalog.round((100 * d14.lower)::numeric, 1),
         pg_catalog.round((100 * d14.upper)::numeric, 1),
         case
           when g.n1 + g.n2 = 0 then 'no decided outcome yet: every nudge''s window is still open'
           when g.m1 < 10 and g.m2 < 10 then 'too few mentors to show (fewer than 10 in each group)'
           when g.m2 = 0 then 'no holdout: set holdout_percent to compare with mentors who were not nudged'
           when g.m2 < 10 then 'too few held-out mentors to show (fewer than 10): too small to tell'
           when g.m1 < 10 then 'too few nudged mentors to show (fewer than 10): too small to tell'
           when d14.lower > 0 then pg_catalog.format(
             'nudged mentors reached the goal in 14 days more often than held-out ones (%s points)',
             pg_catalog.round((100 * d14.difference)::numeric, 1))
           when d14.upper < 0 then pg_catalog.format(
             'nudged mentors reached the goal in 14 days less often than held-out ones (%s points)',
             pg_catalog.round((100 * d14.difference)::numeric, 1))
           else 'too small to tell: the groups'' difference is within its 95 % interval of no difference'
         end
  from g
  left join scheduler_source.organisations org on org.id = g.organisation_id
  left join lateral scheduler.difference_interval(g.a1, g.n1, g.a2, g.n2) d7 on g.m1 >= 10 and g.m2 >= 10
  left join lateral scheduler.difference_interval(g.b1, g.n1, g.b2, g.n2) d14 on g.m1 >= 10 and g.m2 >= 10
  order by org.name, g.organisation_id, g.scenario, g.week
$$;

COMMENT ON FUNCTION scheduler.effectiveness(p_from date, p_to date, p_as_of date) IS 'Do the nudges work? Per organisation, scenario and week: nudged and held-out mentors who reached the goal in 7 and 14 days, the difference with a 95 % Newcombe interval; groups under 10 mentors suppressed (docs/operations.md).';

REVOKE ALL ON FUNCTION scheduler.effectiveness(p_from date, p_to date, p_as_of date) FROM PUBLIC;
