-- Scenario facts, a re-engagement policy for inactivity, and certification rungs that never go wider.
--
-- * Each scenario's rule is factored into a facts function (scheduler.<scenario>_facts): one row per mentor
--   (per certification for certification_expiry) with what the rule reads and its verdict. The candidate
--   functions that evaluate_batch inlines select the rows whose verdict is 'fires'; scheduler.explain
--   (20261201150100_scheduler_explain.sql) reads the same rows to say why a mentor was or was not nudged.
--   The facts functions are plain SQL without a SET clause, like the candidate functions, so that the
--   planner inlines both into evaluate_batch's one statement per batch (infra/benchdata/plan_test.go).
-- * Inactivity nudges a mentor once per inactive spell after inactivity_days, then repeats at most
--   max_repeats times, each at least repeat_every_days after the spell's nearest other nudge. A spell starts
--   at the mentor's last activity on or before the evaluation date (joined_on if none): a new activity
--   re-arms the policy. Before this migration a nudge repeated every cooldown (7 days) for as long as the
--   mentor stayed inactive.
-- * A certification's rung is never sent after a narrower rung of the same certification and expiry date
--   (a backfill of an earlier day no longer sends the 30-day notice after the 7-day one).
-- Safe to apply twice.

-- The default policy (docs/architecture.md, "Scenario rules", says why): nudges after 14, 28 and 42 days
-- without activity, then silence until the mentor registers one. An operator's own values are kept.
update scheduler.scenario_config
set params = '{"repeat_every_days": 14, "max_repeats": 2}'::jsonb || params
where scenario = 'inactivity' and organisation_id is null
  and not (params ? 'repeat_every_days' and params ? 'max_repeats');

-- The inactivity parameters, where given, are whole numbers: inactivity_days and repeat_every_days at least
-- 1, max_repeats at least 0 (0: a single nudge per spell), all at most 3650. A bad value is refused when it
-- is written, not when a run casts it.
create or replace function scheduler.inactivity_params_valid(p_params jsonb)
returns boolean
language sql immutable set search_path = ''
as $$
  select not exists (
    select 1
    from (values ('inactivity_days', 1), ('repeat_every_days', 1), ('max_repeats', 0)) k(key, lowest)
    where p_params ? k.key
      and (pg_catalog.jsonb_typeof(p_params -> k.key) <> 'number'
           or (p_params ->> k.key) !~ '^[0-9]{1,4}$'
           or (p_params ->> k.key)::integer not between k.lowest and 3650))
$$;
revoke all on function scheduler.inactivity_params_valid(jsonb) from public;

do $$
begin
  if not exists (select 1 from pg_catalog.pg_constraint where conname = 'scenario_config_inactivity_params') then
    alter table scheduler.scenario_config add constraint scenario_config_inactivity_params
      check (scenario <> 'inactivity' or scheduler.inactivity_params_valid(params));
  end if;
end
$$;

-- A spell's nudges are read by (user_id, scenario) and a range of evaluation dates: with the date in the index
-- the probe reads no table page once the page is all-visible. It replaces the index on (user_id, scenario),
-- its prefix, which the milestone and certification probes use as well.
create index if not exists notifications_user_scenario_date
  on public.notifications (user_id, scenario, evaluation_date);
drop index if exists public.notifications_user_scenario;

-- inactivity: every mentor in (p_after, p_last], whatever the status, with the spell's facts and a verdict:
--   not_active       the mentor's status is not active
--   disabled         the scenario is switched off for the mentor's organisation
--   below_threshold  fewer than inactivity_days days since the spell started
--   repeat_cap       the spell already has 1 + max_repeats nudges
--   spacing          another nudge of the spell is fewer than repeat_every_days days away
--   fires            a candidate (evaluate_batch then applies the idempotency key and the cooldown)
-- The spell's nudges are the inactivity notifications after its start and before the mentor's next
-- activity after p_date (so a backfilled day counts the nudges already written for later days of the same
-- spell), other than p_date's own (a repeated run finds that one as a duplicate). They are read only for a
-- mentor past the threshold: one index probe each.
create or replace function scheduler.inactivity_facts(p_date date, p_after uuid, p_last uuid)
returns table (user_id uuid, organisation_id uuid, active boolean, enabled boolean, inactivity_days integer,
               repeat_every_days integer, max_repeats integer, cooldown_days integer, priority integer,
               last_activity_date date, spell_start date, days_inactive integer, spell_nudges integer,
               previous_nudge date, next_nudge date, verdict text)
language sql stable
as $$
  select m.id, m.organisation_id, m.status = 'active', c.enabled, c.inactivity_days,
         c.repeat_every_days, c.max_repeats, c.cooldown_days, c.priority,
         la.last_date, coalesce(la.last_date, m.joined_on), p_date - coalesce(la.last_date, m.joined_on),
         coalesce(sp.nudges, 0), sp.previous_nudge, sp.next_nudge,
         case
           when m.status <> 'active' then 'not_active'
           when not c.enabled then 'disabled'
           when p_date - coalesce(la.last_date, m.joined_on) < c.inactivity_days then 'below_threshold'
           when coalesce(sp.nudges, 0) > c.max_repeats then 'repeat_cap'
           when p_date - sp.previous_nudge < c.repeat_every_days
             or sp.next_nudge - p_date < c.repeat_every_days then 'spacing'
           else 'fires'
         end
  from scheduler_source.peer_mentors m
  join (select ec.organisation_id, ec.enabled, ec.cooldown_days, ec.priority,
               (ec.params ->> 'inactivity_days')::integer as inactivity_days,
               coalesce((ec.params ->> 'repeat_every_days')::integer, 14) as repeat_every_days,
               coalesce((ec.params ->> 'max_repeats')::integer, 2) as max_repeats
        from scheduler.effective_config('inactivity') ec offset 0) c on c.organisation_id = m.organisation_id
  cross join lateral (
    select max(a.activity_date) as last_date
    from scheduler_source.activities a
    where a.user_id = m.id and a.activity_date <= p_date
  ) la
  left join lateral (
    select count(*)::integer as nudges,
           max(n.evaluation_date) filter (where n.evaluation_date < p_date) as previous_nudge,
           min(n.evaluation_date) filter (where n.evaluation_date > p_date) as next_nudge
    from public.notifications n
    where p_date - coalesce(la.last_date, m.joined_on) >= c.inactivity_days
      and n.user_id = m.id and n.scenario = 'inactivity'
      and n.evaluation_date > coalesce(la.last_date, m.joined_on) and n.evaluation_date <> p_date
      and not exists (select 1 from scheduler_source.activities a2
                      where a2.user_id = m.id and a2.activity_date > p_date
                        and a2.activity_date <= n.evaluation_date)
  ) sp on true
  where m.id > p_after and m.id <= p_last
$$;

-- inactivity: the facts whose verdict is 'fires' (the conditions before it repeat the verdict's so that the
-- planner filters on them early and reads mentors through the active-mentor index).
create or replace function scheduler.inactivity_candidates(p_date date, p_after uuid, p_last uuid)
returns table (user_id uuid, organisation_id uuid, idempotency_key text, data jsonb,
               cooldown_days integer, priority integer)
language sql stable
as $$
  select f.user_id, f.organisation_id,
         'inactivity:' || f.user_id::text || ':' || p_date::text,
         jsonb_build_object(
           'days_inactive', f.days_inactive,
           'last_activity_date', f.last_activity_date,
           'inactivity_days', f.inactivity_days),
         f.cooldown_days, f.priority
  from scheduler.inactivity_facts(p_date, p_after, p_last) f
  where f.active and f.enabled and f.days_inactive >= f.inactivity_days and f.verdict = 'fires'
$$;

-- milestone: every mentor in (p_after, p_last] with the activity count, the highest level reached, the next
-- level and the highest level already sent at or above it, and a verdict: not_active, disabled,
-- below_threshold (no level reached), already_sent (that level or a higher one was sent: a lower level is
-- never sent after a higher one) or fires.
create or replace function scheduler.milestone_facts(p_date date, p_after uuid, p_last uuid)
returns table (user_id uuid, organisation_id uuid, active boolean, enabled boolean, activity_count integer,
               level integer, levels_reached jsonb, next_level integer, sent_level integer,
               cooldown_days integer, priority integer, verdict text)
language sql stable
as $$
  select m.id, m.organisation_id, m.status = 'active', c.enabled, ac.n, lv.level, lv.reached, lv.next_level,
         higher.level, c.cooldown_days, c.priority,
         case
           when m.status <> 'active' then 'not_active'
           when not c.enabled then 'disabled'
           when lv.level is null then 'below_threshold'
           when higher.level is not null then 'already_sent'
           else 'fires'
         end
  from scheduler_source.peer_mentors m
  join scheduler.effective_config('milestone') c on c.organisation_id = m.organisation_id
  cross join lateral (
    select count(*)::integer as n
    from scheduler_source.activities a
    where a.user_id = m.id and a.activity_date <= p_date
  ) ac
  cross join lateral (
    select max(l.v::integer) filter (where l.v::integer <= ac.n) as level,
           jsonb_agg(l.v::integer order by l.v::integer) filter (where l.v::integer <= ac.n) as reached,
           min(l.v::integer) filter (where l.v::integer > ac.n) as next_level
    from jsonb_array_elements_text(c.params -> 'levels') l(v)
  ) lv
  left join lateral (
    select max((n.data ->> 'level')::integer) as level
    from public.notifications n
    where n.user_id = m.id and n.scenario = 'milestone' and (n.data ->> 'level')::integer >= lv.level
  ) higher on true
  where m.id > p_after and m.id <= p_last
$$;

create or replace function scheduler.milestone_candidates(p_date date, p_after uuid, p_last uuid)
returns table (user_id uuid, organisation_id uuid, idempotency_key text, data jsonb,
               cooldown_days integer, priority integer)
language sql stable
as $$
  select f.user_id, f.organisation_id,
         'milestone:' || f.user_id::text || ':' || f.level::text,
         jsonb_build_object('level', f.level, 'activity_count', f.activity_count, 'levels_reached', f.levels_reached),
         f.cooldown_days, f.priority
  from scheduler.milestone_facts(p_date, p_after, p_last) f
  where f.active and f.enabled and f.level is not null and f.verdict = 'fires'
$$;

-- certification_expiry: every certification of a mentor in (p_after, p_last] that expires on or after
-- p_date, with the current (smallest reached) rung, the widest rung, the narrowest rung already sent for the
-- same certification and expiry date below the current one, and a verdict: not_active, disabled,
-- beyond_rungs (more days left than the widest rung), narrower_sent (a narrower rung was sent: a backfill
-- of an earlier day never sends a wider one after it) or fires.
create or replace function scheduler.certification_facts(p_date date, p_after uuid, p_last uuid)
returns table (user_id uuid, organisation_id uuid, active boolean, enabled boolean, certification_id uuid,
               certification_name text, expires_at date, days_left integer, rung integer, widest_rung integer,
               narrower_sent integer, cooldown_days integer, priority integer, verdict text)
language sql stable
as $$
  select m.id, m.organisation_id, m.status = 'active', c.enabled, ce.id, ce.name, ce.expires_at,
         ce.expires_at - p_date, r.rung, r.widest, narrower.rung, c.cooldown_days, c.priority,
         case
           when m.status <> 'active' then 'not_active'
           when not c.enabled then 'disabled'
           when r.rung is null then 'beyond_rungs'
           when narrower.rung is not null then 'narrower_sent'
           else 'fires'
         end
  from scheduler_source.peer_mentors m
  join scheduler.effective_config('certification_expiry') c on c.organisation_id = m.organisation_id
  join scheduler_source.certifications ce on ce.user_id = m.id and ce.expires_at >= p_date
  cross join lateral (
    select min(x.v::integer) filter (where x.v::integer >= ce.expires_at - p_date) as rung,
           max(x.v::integer) as widest
    from jsonb_array_elements_text(c.params -> 'rungs') x(v)
  ) r
  left join lateral (
    select min((n.data ->> 'rung')::integer) as rung
    from public.notifications n
    where n.user_id = m.id and n.scenario = 'certification_expiry'
      and n.data ->> 'certification_id' = ce.id::text
      and (n.data ->> 'expires_at')::date = ce.expires_at
      and (n.data ->> 'rung')::integer < r.rung
  ) narrower on true
  where m.id > p_after and m.id <= p_last
$$;

create or replace function scheduler.certification_candidates(p_date date, p_after uuid, p_last uuid)
returns table (user_id uuid, organisation_id uuid, idempotency_key text, data jsonb,
               cooldown_days integer, priority integer)
language sql stable
as $$
  select f.user_id, f.organisation_id,
         'certification_expiry:' || f.user_id::text || ':' || f.certification_id::text || ':'
           || f.expires_at::text || ':' || f.rung::text,
         jsonb_build_object(
           'certification_id', f.certification_id, 'certification_name', f.certification_name,
           'expires_at', f.expires_at, 'days_left', f.days_left, 'rung', f.rung),
         f.cooldown_days, f.priority
  from scheduler.certification_facts(p_date, p_after, p_last) f
  where f.active and f.enabled and f.rung is not null and f.verdict = 'fires'
$$;

-- Owner-only, like the candidate functions (see 20261201100100_least_privilege.sql for why they keep no
-- fixed search_path).
revoke all on function scheduler.inactivity_facts(date, uuid, uuid), scheduler.milestone_facts(date, uuid, uuid),
  scheduler.certification_facts(date, uuid, uuid) from public;
comment on function scheduler.inactivity_facts(date, uuid, uuid) is
  'No fixed search_path on purpose: inlined into evaluate_batch (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';
comment on function scheduler.milestone_facts(date, uuid, uuid) is
  'No fixed search_path on purpose: inlined into evaluate_batch (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';
comment on function scheduler.certification_facts(date, uuid, uuid) is
  'No fixed search_path on purpose: inlined into evaluate_batch (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';
