-- The scenario rules composed from small functions, each written once and read by the run
-- (scheduler.evaluate_batch) and, all but check_claim, by scheduler.explain (redefined here over them):
--
--   scheduler.walk                   the active mentors after a cursor, in a shard's range and a slot's organisations
--   scheduler.evaluated_mentors      the walk's mentors of organisations where a scenario is enabled
--   scheduler.candidates             the dispatch: a scenario's name to its candidates function
--   scheduler.sent_on                the duplicate check: the notification with an idempotency key
--   scheduler.cooldown_until         the cooldown check: the end of a cooldown a new notification would meet
--   scheduler.classified_candidates  a batch's candidates with both checks: already_sent, cooldown or would_fire
--   scheduler.check_claim            the claim check: the run holds the checkpoint's lease at the cursor it read
--
-- Everything but check_claim is plain SQL (LANGUAGE sql, STABLE, SECURITY INVOKER, no SET clause, one
-- select), so that the planner inlines it into the statement that calls it, as it inlines the facts and
-- candidates functions: a batch is still one statement of index scans (infra/dev/benchdata/plan_test.go
-- fails on a function scan of any of them). They are owner-only and outside the exposed schemas, like the
-- candidates functions (supabase/lint_test.go, inlinedOnPurpose).
--
-- Behaviour changes (docs/architecture.md, "Scenario rules"):
-- * inactivity: a run for a past date (a backfill) writes no nudge dated before one the mentor already has
--   (verdict later_nudge). Nudges are written in date order, so a spell's nudges before the date are all
--   the rule reads, and a nudge dated on the day of a later-registered activity counts in exactly one spell
--   (the one that activity ends). Before, that nudge counted in neither spell and a backfilled day in the
--   earlier spell could land a week before it: four nudges in 42 days.
-- * evaluate_batch carries `set jit = off` in its own definition; the catalog loop that switched it off
--   (20261201170000_daily_run_performance.sql) is gone.
-- Safe to apply twice (create or replace; grants and revokes are idempotent).

-- Active mentors in (p_after, p_upper] of the organisations p_orgs (null: every organisation). Every reader
-- orders by id itself (the key order of the walk index): an ORDER BY here would keep the planner from
-- flattening the walk into the count of evaluated mentors.
create or replace function scheduler.walk(p_after uuid, p_upper uuid, p_orgs uuid[])
returns table (id uuid, organisation_id uuid)
language sql stable
as $$
  select m.id, m.organisation_id
  from scheduler_source.peer_mentors m
  where m.status = 'active' and m.id > p_after and m.id <= p_upper
    and (p_orgs is null or m.organisation_id = any (p_orgs))
$$;

-- The walk's mentors that a scenario evaluates: those of organisations where it is enabled (the report's and
-- the checkpoint's `evaluated`; explain's not_active and disabled).
create or replace function scheduler.evaluated_mentors(p_scenario text, p_after uuid, p_last uuid, p_orgs uuid[])
returns table (id uuid, organisation_id uuid)
language sql stable
as $$
  select w.id, w.organisation_id
  from scheduler.walk(p_after, p_last, p_orgs) w
  where w.organisation_id in (select ec.organisation_id from scheduler.effective_config(p_scenario) ec
                              where ec.enabled)
$$;

-- The dispatch, the one place that maps a scenario to its candidates function: one line per scenario.
-- p_scenario is a constant of the calling statement, so the planner keeps only its branch.
create or replace function scheduler.candidates(p_scenario text, p_date date, p_after uuid, p_last uuid)
returns table (user_id uuid, organisation_id uuid, idempotency_key text, data jsonb,
               cooldown_days integer, priority integer)
language sql stable
as $$
  select * from scheduler.inactivity_candidates(p_date, p_after, p_last) where p_scenario = 'inactivity'
  union all
  select * from scheduler.milestone_candidates(p_date, p_after, p_last) where p_scenario = 'milestone'
  union all
  select * from scheduler.certification_candidates(p_date, p_after, p_last) where p_scenario = 'certification_expiry'
$$;

-- The duplicate check: the date of the notification that already has this idempotency key (no row: none).
-- One probe of the unique key, never a scan of every notification.
create or replace function scheduler.sent_on(p_key text)
returns table (sent_on date)
language sql stable
as $$
  select d.evaluation_date from public.notifications d where d.idempotency_key = p_key
$$;

-- The cooldown check: the end of the latest cooldown of the mentor's notifications of the scenario that a
-- notification for p_date would overlap (null: none, or the scenario has no cooldown). The exclusion
-- constraint on public.notifications enforces the same; this finds it before the insert, to count it.
create or replace function scheduler.cooldown_until(p_user uuid, p_scenario text, p_date date, p_cooldown_days integer)
returns table (until date)
language sql stable
as $$
  select max(pg_catalog.upper(n.cooldown_period))
  from public.notifications n
  where p_cooldown_days > 0
    and n.user_id = p_user and n.scenario = p_scenario
    and n.cooldown_period && pg_catalog.daterange(p_date, p_date + p_cooldown_days)
$$;

-- A batch's candidates, of the organisations p_orgs (null: all), each with both checks and its state:
-- already_sent (the key exists), cooldown (inside an earlier notification's cooldown) or would_fire.
create or replace function scheduler.classified_candidates(
  p_scenario text, p_date date, p_after uuid, p_last uuid, p_orgs uuid[])
returns table (user_id uuid, organisation_id uuid, idempotency_key text, data jsonb,
               cooldown_days integer, priority integer, sent_on date, cooldown_until date, state text)
language sql stable
as $$
  select c.user_id, c.organisation_id, c.idempotency_key, c.data, c.cooldown_days, c.priority,
         dup.sent_on, cool.until,
         case when dup.sent_on is not null then 'already_sent'
              when cool.until is not null then 'cooldown'
              else 'would_fire' end
  from scheduler.candidates(p_scenario, p_date, p_after, p_last) c
  left join lateral scheduler.sent_on(c.idempotency_key) dup on true
  left join lateral scheduler.cooldown_until(c.user_id, p_scenario, p_date, c.cooldown_days) cool on true
  where p_orgs is null or c.organisation_id = any (p_orgs)
$$;

-- The claim check: the run holds the lease of the checkpoint (date, scenario, slot, shard) and the checkpoint
-- is still at the cursor the run read; the row stays locked until the batch's transaction ends, so the
-- batch's own update of it cannot race another run. SQLSTATE SC409 otherwise (the engine stops the scenario).
create or replace function scheduler.check_claim(
  p_run_id uuid, p_date date, p_scenario text, p_shard integer, p_shards integer, p_slot text, p_cursor uuid)
returns void
language plpgsql set search_path = ''
as $$
declare
  cp scheduler.checkpoints;
begin
  select * into cp from scheduler.checkpoints c
  where c.evaluation_date = p_date and c.scenario = p_scenario and c.slot = p_slot
    and c.shards = p_shards and c.shard = p_shard
  for update;
  if not found or cp.lease_owner is distinct from p_run_id then
    raise exception using errcode = 'SC409', message = 'checkpoint lease is not held by this run';
  end if;
  if cp.cursor is distinct from p_cursor or cp.done then
    raise exception using errcode = 'SC409', message = 'checkpoint moved since it was claimed';
  end if;
end
$$;

-- inactivity: as 20261201150000_reengagement_policy.sql, with the spell's nudges read up to the date only,
-- and the verdict later_nudge (after below_threshold) for a date before one of the mentor's nudges: a backfill
-- never writes a nudge dated before one the mentor already has. Nudges are written in date order, so the
-- spell's nudges are those after its start (the last activity on or before p_date, or joined_on) and
-- before p_date; a nudge dated on the day of an activity registered after it is in the spell that activity
-- ends, never in the next (which starts after that day). next_nudge is the mentor's next nudge after
-- p_date, of any spell (all of them are after the spell's start). One index probe per mentor past the
-- threshold, as before, without the probe for an activity per nudge it replaces.
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
           when sp.next_nudge is not null then 'later_nudge'
           when coalesce(sp.nudges, 0) > c.max_repeats then 'repeat_cap'
           when p_date - sp.previous_nudge < c.repeat_every_days then 'spacing'
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
    select (count(*) filter (where n.evaluation_date < p_date))::integer as nudges,
           max(n.evaluation_date) filter (where n.evaluation_date < p_date) as previous_nudge,
           min(n.evaluation_date) filter (where n.evaluation_date > p_date) as next_nudge
    from public.notifications n
    where p_date - coalesce(la.last_date, m.joined_on) >= c.inactivity_days
      and n.user_id = m.id and n.scenario = 'inactivity'
      and n.evaluation_date > coalesce(la.last_date, m.joined_on) and n.evaluation_date <> p_date
  ) sp on true
  where m.id > p_after and m.id <= p_last
$$;

-- scheduler.evaluate_batch: one batch of one scenario for one slot's shard. The checks of the caller's
-- inputs, the claim check, the walk to the batch's last mentor, the count of evaluated mentors, the
-- classified candidates written in one insert, the done test (the walk past the batch), and the checkpoint
-- advanced in the same transaction. No JIT: a batch's custom plans at a million mentors pass
-- jit_above_cost, and compiling cost more than the batch (docs/performance.md); set here, the project's
-- own setting stays as it is for every other statement.
create or replace function scheduler.evaluate_batch(
  p_run_id uuid, p_scenario text, p_date date, p_after uuid, p_limit integer, p_dry_run boolean,
  p_shard integer, p_shards integer, p_slot text)
returns table (evaluated integer, candidates integer, notified integer, suppressed_cooldown integer,
               duplicates integer, conflicts integer, next_cursor uuid, done boolean)
language plpgsql security definer set search_path = '' set jit = off
as $$
#variable_conflict use_column
declare
  v_after  uuid;    -- the walk starts after it: the cursor, or the shard's lower bound
  v_upper  uuid;    -- the shard's last id (inclusive)
  v_orgs   uuid[];  -- the slot's organisations (null: every organisation)
  v_last   uuid;    -- the batch's last mentor (null: nobody left)
  v_fresh  integer;
begin
  perform scheduler.check_date('evaluate_batch', p_date);
  perform scheduler.check_scenario('evaluate_batch', p_scenario);
  perform scheduler.check_range('evaluate_batch: batch limit', p_limit, 1, 100000);
  perform scheduler.check_shard('evaluate_batch', p_shard, p_shards);
  perform scheduler.check_slot('evaluate_batch', p_slot);
  v_orgs := scheduler.slot_organisations(p_slot);
  select coalesce(p_after, b.lower), b.upper into v_after, v_upper from scheduler.shard_bounds(p_shard, p_shards) b;
  if not p_dry_run then
    perform scheduler.check_claim(p_run_id, p_date, p_scenario, p_shard, p_shards, p_slot, p_after);
  end if;

  select b.id into v_last
  from (
    select w.id, row_number() over (order by w.id)::integer as n
    from scheduler.walk(v_after, v_upper, v_orgs) w
    order by w.id
    limit p_limit
  ) b
  order by b.n desc
  limit 1;

  if v_last is null then
    evaluated := 0; candidates := 0; notified := 0; suppressed_cooldown := 0; duplicates := 0; conflicts := 0;
    next_cursor := p_after;
    done := true;
  else
    select count(*)::integer into evaluated from scheduler.evaluated_mentors(p_scenario, v_after, v_last, v_orgs);

    with classified as (
      select * from scheduler.classified_candidates(p_scenario, p_date, v_after, v_last, v_orgs)
    ),
    ins as (
      insert into public.notifications (user_id, organisation_id, scenario, evaluation_date, idempotency_key,
                                        cooldown_period, priority, data, run_id)
      select c.user_id, c.organisation_id, p_scenario, p_date, c.idempotency_key,
             case when c.cooldown_days > 0 then daterange(p_date, p_date + c.cooldown_days) end,
             c.priority, c.data, p_run_id
      from classified c
      where not p_dry_run and c.state = 'would_fire'
      -- A concurrent writer got there first (same key, or a cooldown it opened): skip, never fail.
      on conflict do nothing
      returning 1
    )
    select count(*)::integer,
           (count(*) filter (where c.state = 'already_sent'))::integer,
           (count(*) filter (where c.state = 'cooldown'))::integer,
           (count(*) filter (where c.state = 'would_fire'))::integer,
           (select count(*) from ins)::integer
    into candidates, duplicates, suppressed_cooldown, v_fresh, notified
    from classified c;

    if p_dry_run then
      notified := v_fresh;
    end if;
    conflicts := v_fresh - notified;
    next_cursor := v_last;
    done := not exists (select 1 from scheduler.walk(v_last, v_upper, v_orgs));
  end if;

  if not p_dry_run then
    update scheduler.checkpoints c
    set cursor = next_cursor, done = evaluate_batch.done,
        evaluated = c.evaluated + evaluate_batch.evaluated, notified = c.notified + evaluate_batch.notified,
        batches = c.batches + 1, updated_at = now(),
        completed_at = case when evaluate_batch.done then now() end
    where c.evaluation_date = p_date and c.scenario = p_scenario
      and c.shards = p_shards and c.shard = p_shard and c.slot = p_slot;
  end if;
  return next;
end
$$;

-- Active mentors of a slot's shard not yet evaluated after a cursor (null: from the shard's start): the walk.
create or replace function scheduler.remaining_mentors(p_after uuid, p_shard integer, p_shards integer, p_slot text)
returns bigint
language plpgsql stable security definer set search_path = ''
as $$
declare
  v_after uuid;
  v_upper uuid;
  n       bigint;
begin
  perform scheduler.check_slot('remaining_mentors', p_slot);
  select coalesce(p_after, b.lower), b.upper into v_after, v_upper from scheduler.shard_bounds(p_shard, p_shards) b;
  select pg_catalog.count(*) into n from scheduler.walk(v_after, v_upper, scheduler.slot_organisations(p_slot)) w;
  return n;
end
$$;

-- scheduler.explain(mentor, date): why a mentor was (or was not) nudged, per scenario, from the functions the
-- run reads: the walk (scheduler.evaluated_mentors: not_active, disabled), the facts functions (the verdicts),
-- scheduler.classified_candidates (already_sent, cooldown, would_fire: the duplicate and cooldown checks of
-- evaluate_batch, not copies of them). Read-only (STABLE), SECURITY DEFINER with search_path = '', executable
-- by the function role and the owner only.
--
-- One row per scenario of the configuration:
--   outcome        notified         the scenario wrote a notification for this date (notifications: what)
--                  would_fire       an evaluation of this date would write one (notifications: what)
--                  not_active       the mentor's status is not active
--                  disabled         the scenario is switched off for the mentor's organisation
--                  below_threshold  inactivity: fewer days without activity than inactivity_days;
--                                   milestone: no level reached
--                  later_nudge      inactivity: the mentor has a nudge dated after this date (a backfill
--                                   never writes one before it)
--                  repeat_cap       inactivity: the spell already has 1 + max_repeats nudges
--                  spacing          inactivity: the spell's previous nudge is fewer than repeat_every_days ago
--                  cooldown         a notification of the scenario is within cooldown_days
--                  already_sent     the level, or the rung of this certification and expiry date, was sent
--                                   (milestone: or a higher level; certification: or a narrower rung)
--                  no_certification no certification expiring on or after the date
--                  beyond_rungs     every certification has more days left than the widest rung
--                  no_candidate     a scenario without its own reasons here (one added by the recipe in
--                                   docs/architecture.md): its candidates function selects nothing for the mentor
--   reason         the same in words, with the numbers ("12 of 14 days without activity since ...")
--   notifications  for notified and would_fire: [{"idempotency_key", "data", "priority", "push"}]
--   push           the notifications' pushes, joined with "; " - for notified: the push's state (sent, held for quiet hours, suppressed and why, pending);
--                  for would_fire: what delivery would do with it by the policy now, in claim_pushes' order
--                  (too old, no device, quiet hours, the daily cap taken by a more important notification,
--                  or a push)
-- The push is judged with the predicates of scheduler.claim_pushes (20261201120000) - keep them in step.
create or replace function scheduler.explain(p_mentor uuid, p_date date)
returns table (scenario text, outcome text, reason text, notifications jsonb, push text)
language plpgsql stable security definer set search_path = ''
as $$
#variable_conflict use_column
declare
  -- Typed: an untyped literal is text to plpgsql_check, and a text-to-uuid assignment its warning.
  v_zero constant uuid := '00000000-0000-0000-0000-000000000000'::uuid;
  v_status text;
  v_org uuid;
begin
  perform scheduler.check_date('explain', p_date);
  if p_mentor is null then
    raise exception using errcode = '22023', message = 'explain: a mentor id is required';
  end if;
  select m.status, m.organisation_id into v_status, v_org from scheduler_source.peer_mentors m where m.id = p_mentor;
  if not found then
    raise exception using errcode = '22023', message = pg_catalog.format('explain: no peer mentor %s', p_mentor);
  end if;

  return query
  with
  -- The configured scenarios, and those that evaluate this mentor (active, in an organisation where the
  -- scenario is enabled: the batch's count of evaluated mentors).
  scenarios as (
    select d.scenario,
           exists (select 1 from scheduler.evaluated_mentors(d.scenario, v_zero, p_mentor, null) e
                   where e.id = p_mentor) as evaluated
    from scheduler.scenario_config d
    where d.organisation_id is null
  ),
  -- What evaluate_batch would do with this mentor's candidates: the batch's own classification.
  classified as (
    select s.scenario, c.idempotency_key, c.data, c.priority, c.sent_on, c.cooldown_until as until, c.state
    from scenarios s
    cross join lateral scheduler.classified_candidates(s.scenario, p_date, v_zero, p_mentor, null) c
    where c.user_id = p_mentor
  ),
  -- What the evaluation of this date wrote.
  written as (
    select n.scenario, n.id, n.idempotency_key, n.data, n.priority, n.status, n.suppressed_reason,
           n.available_at, n.sent_at, n.last_error_class
    from public.notifications n
    where n.user_id = p_mentor and n.evaluation_date = p_date
  ),
  -- The delivery policy for this mentor, as claim_pushes applies it.
  policy as (
    select coalesce(oc.daily_cap, d.daily_cap) as daily_cap,
           coalesce(oc.quiet_start, d.quiet_start) as quiet_start,
           coalesce(oc.quiet_end, d.quiet_end) as quiet_end,
           coalesce(oc.max_age_days, d.max_age_days) as max_age_days,
           (pg_catalog.now() at time zone o.timezone) as local_now,
           (select count(*) from scheduler_source.device_tokens t where t.user_id = p_mentor and not t.disabled) as devices,
           (select count(*) from public.notifications x
            where x.user_id = p_mentor and x.push_date = (pg_catalog.now() at time zone o.timezone)::date
              and (x.status = 'sent' or (x.status = 'pending' and x.lease_until is not null))) as used
    from scheduler_source.organisations o
    join scheduler.delivery_config d on d.organisation_id is null
    left join scheduler.delivery_config oc on oc.organisation_id = o.id
    where o.id = v_org
  ),
  -- The rows that compete for the daily cap, in claim_pushes' order of urgency: these would-fire rows and
  -- the mentor's deliverable pending ones.
  ranked as (
    select x.idempotency_key,
           pg_catalog.row_number() over (order by x.priority desc, x.deadline asc nulls last,
                                                  x.evaluation_date desc, x.idempotency_key) as rank
    from (
      select c.idempotency_key, c.priority, p_date as evaluation_date,
             case when c.data ->> 'expires_at' ~ '^\d{4}-\d{2}-\d{2}$' then (c.data ->> 'expires_at')::date end
               as deadline
      from classified c where c.state = 'would_fire'
      union all
      select n.idempotency_key, n.priority, n.evaluation_date,
             case when n.data ->> 'expires_at' ~ '^\d{4}-\d{2}-\d{2}$' then (n.data ->> 'expires_at')::date end
      from public.notifications n cross join policy p
      where n.user_id = p_mentor and n.status = 'pending'
        and (n.lease_until is null or n.lease_until < pg_catalog.clock_timestamp())
        and (n.available_at is null or n.available_at <= pg_catalog.now())
        and n.evaluation_date >= p.local_now::date - p.max_age_days
    ) x
  ),
  push_of as (
    select c.scenario, c.idempotency_key,
           case
             when p_date < p.local_now::date - p.max_age_days then
               pg_catalog.format('older than %s days when delivered: in-app only', p.max_age_days)
             when p.devices = 0 then 'no device: in-app only'
             when p.quiet_start <> p.quiet_end
                  and case when p.quiet_start < p.quiet_end
                           then p.local_now::time >= p.quiet_start and p.local_now::time < p.quiet_end
                           else p.local_now::time >= p.quiet_start or p.local_now::time < p.quiet_end end then
               pg_catalog.format('quiet hours: held until %s', pg_catalog.to_char(p.quiet_end, 'HH24:MI'))
             when p.daily_cap is not null
                  and p.used + (select k.rank from ranked k where k.idempotency_key = c.idempotency_key) > p.daily_cap then
               pg_catalog.format('daily cap: %s push(es) a day, taken by a more important notification: in-app only',
                                 p.daily_cap)
             else pg_catalog.format('push to %s device(s)', p.devices)
           end as push
    from classified c cross join policy p
    where c.state = 'would_fire'
  ),
  written_push as (
    select w.scenario, w.idempotency_key,
           case w.status
             when 'sent' then pg_catalog.format('push sent at %s', w.sent_at)
             when 'suppressed' then pg_catalog.format('no push (%s): in-app only',
               case w.suppressed_reason when 'no_device' then 'no device' when 'daily_cap' then 'daily cap'
                                        when 'expired' then 'too old' else w.suppressed_reason end)
             when 'failed' then pg_catalog.format('push failed (%s)', w.last_error_class)
             else case when w.available_at > pg_catalog.now()
                       then pg_catalog.format('push pending: held (quiet hours or a retry) until %s', w.available_at)
                       else 'push pending' end
           end as push
    from written w
  ),
  -- Per scenario: whether the walk evaluates the mentor, and whether this date's evaluation wrote for it.
  known as (
    select s.scenario, s.evaluated, exists (select 1 from written w where w.scenario = s.scenario) as written
    from scenarios s
  ),
  inactivity as (
    select 'inactivity'::text as scenario,
           coalesce(case when k.written then 'notified' end, c.state, f.verdict) as outcome,
           f.*, c.until, c.idempotency_key
    from scheduler.inactivity_facts(p_date, v_zero, p_mentor) f
    join known k on k.scenario = 'inactivity'
    left join classified c on c.scenario = 'inactivity'
    where f.user_id = p_mentor
  ),
  milestone as (
    select 'milestone'::text as scenario,
           coalesce(case when k.written then 'notified' end, c.state, f.verdict) as outcome,
           f.*, c.until, c.sent_on
    from scheduler.milestone_facts(p_date, v_zero, p_mentor) f
    join known k on k.scenario = 'milestone'
    left join classified c on c.scenario = 'milestone'
    where f.user_id = p_mentor
  ),
  certification as (
    select coalesce(case when c.sent_on = p_date then 'notified' end,
                    c.state, f.verdict) as outcome,
           f.*, c.until, c.sent_on
    from scheduler.certification_facts(p_date, v_zero, p_mentor) f
    left join classified c on c.scenario = 'certification_expiry' and (c.data ->> 'certification_id')::uuid = f.certification_id
    where f.user_id = p_mentor
  ),
  answer as (
    select i.scenario, i.outcome,
           case i.outcome
             when 'not_active' then pg_catalog.format('the mentor is %s: only active mentors are evaluated', v_status)
             when 'disabled' then 'inactivity is switched off for the mentor''s organisation'
             when 'below_threshold' then pg_catalog.format('%s of %s days without activity (%s)',
               i.days_inactive, i.inactivity_days,
               coalesce('last activity ' || i.last_activity_date::text, 'no activity; joined ' || i.spell_start::text))
             when 'later_nudge' then pg_catalog.format(
               'nudged on %s, after this date: a run for an earlier date (a backfill) never writes a nudge before a later one',
               i.next_nudge)
             when 'repeat_cap' then pg_catalog.format(
               'repeat cap reached: %s nudges in this inactive spell (since %s), at most %s; a new activity re-arms it',
               i.spell_nudges, i.spell_start, 1 + i.max_repeats)
             when 'spacing' then pg_catalog.format(
               'nudged on %s: the next repeat is not before %s (every %s days)',
               i.previous_nudge, i.previous_nudge + i.repeat_every_days, i.repeat_every_days)
             when 'cooldown' then pg_catalog.format('in cooldown until %s', i.until)
             when 'already_sent' then pg_catalog.format('already sent (%s)', i.idempotency_key)
             when 'would_fire' then pg_catalog.format(
               '%s days without activity (threshold %s): nudge %s of at most %s in this inactive spell',
               i.days_inactive, i.inactivity_days, i.spell_nudges + 1, 1 + i.max_repeats)
             else pg_catalog.format('%s days without activity (threshold %s)', i.days_inactive, i.inactivity_days)
           end as reason
    from inactivity i
    union all
    select m.scenario, m.outcome,
           case m.outcome
             when 'not_active' then pg_catalog.format('the mentor is %s: only active mentors are evaluated', v_status)
             when 'disabled' then 'milestone is switched off for the mentor''s organisation'
             when 'below_threshold' then pg_catalog.format('%s of %s activities for the first level',
               m.activity_count, m.next_level)
             when 'already_sent' then case
               when m.sent_level > m.level then pg_catalog.format(
                 'level %s was sent, and a lower level (%s) is never sent after a higher one; %s activities, next level %s',
                 m.sent_level, m.level, m.activity_count, coalesce(m.next_level::text, 'none'))
               else pg_catalog.format('level %s already sent; %s activities, next level %s',
                 m.level, m.activity_count, coalesce(m.next_level::text, 'none')) end
             when 'cooldown' then pg_catalog.format('in cooldown until %s', m.until)
             else pg_catalog.format('level %s reached with %s activities', m.level, m.activity_count)
           end
    from milestone m
    union all
    select k.scenario,
           case
             when v_status <> 'active' then 'not_active'
             when not k.evaluated then 'disabled'
             when not exists (select 1 from certification) then 'no_certification'
             else (select c.outcome from certification c
                   order by pg_catalog.array_position(array['notified', 'would_fire', 'cooldown', 'already_sent',
                                                            'narrower_sent', 'beyond_rungs'], c.outcome),
                            c.expires_at
                   limit 1)
           end,
           case
             when v_status <> 'active' then pg_catalog.format('the mentor is %s: only active mentors are evaluated', v_status)
             when not k.evaluated then 'certification_expiry is switched off for the mentor''s organisation'
             when not exists (select 1 from certification) then 'no certification expiring on or after this date'
             else (select pg_catalog.string_agg(
                     pg_catalog.format('%s expires %s (%s days left): ', c.certification_name, c.expires_at, c.days_left) ||
                     case c.outcome
                       when 'beyond_rungs' then pg_catalog.format('beyond the widest rung (%s days)', c.widest_rung)
                       when 'narrower_sent' then pg_catalog.format(
                         'rung %s, but the narrower rung %s was already sent', c.rung, c.narrower_sent)
                       when 'already_sent' then pg_catalog.format('rung %s already sent on %s', c.rung, c.sent_on)
                       when 'cooldown' then pg_catalog.format('rung %s, in cooldown until %s', c.rung, c.until)
                       when 'notified' then pg_catalog.format('rung %s notified for this date', c.rung)
                       else pg_catalog.format('rung %s', c.rung)
                     end, '; ' order by c.expires_at, c.certification_name)
                   from certification c)
           end
    from known k
    where k.scenario = 'certification_expiry'
    union all
    -- Any other scenario: what the walk, the written rows and the classified candidates say.
    select k.scenario, o.outcome,
           case o.outcome
             when 'not_active' then pg_catalog.format('the mentor is %s: only active mentors are evaluated', v_status)
             when 'disabled' then pg_catalog.format('%s is switched off for the mentor''s organisation', k.scenario)
             when 'no_candidate' then 'no candidate for this mentor on this date'
             when 'cooldown' then pg_catalog.format('in cooldown until %s',
               (select pg_catalog.max(c.until) from classified c where c.scenario = k.scenario))
             when 'already_sent' then pg_catalog.format('already sent (%s)',
               (select pg_catalog.string_agg(c.idempotency_key, ', ' order by c.idempotency_key)
                from classified c where c.scenario = k.scenario and c.state = 'already_sent'))
             when 'notified' then 'notified for this date'
             else 'a candidate for this date, neither sent nor in a cooldown'
           end
    from known k
    cross join lateral (
      select coalesce(case when v_status <> 'active' then 'not_active'
                           when not k.evaluated then 'disabled'
                           when k.written then 'notified' end,
                      (select c.state from classified c where c.scenario = k.scenario
                       order by pg_catalog.array_position(array['would_fire', 'cooldown', 'already_sent'], c.state)
                       limit 1),
                      'no_candidate') as outcome
    ) o
    where k.scenario not in ('inactivity', 'milestone', 'certification_expiry')
  )
  select r.scenario, r.outcome, r.reason,
         case r.outcome
           when 'notified' then (select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                   'idempotency_key', w.idempotency_key, 'data', w.data, 'priority', w.priority,
                                   'push', wp.push)
                                   order by w.idempotency_key)
                                 from written w join written_push wp on wp.idempotency_key = w.idempotency_key
                                 where w.scenario = r.scenario)
           when 'would_fire' then (select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                     'idempotency_key', c.idempotency_key, 'data', c.data, 'priority', c.priority,
                                     'push', po.push)
                                     order by c.idempotency_key)
                                   from classified c join push_of po on po.idempotency_key = c.idempotency_key
                                   where c.scenario = r.scenario and c.state = 'would_fire')
         end,
         case r.outcome
           when 'notified' then (select pg_catalog.string_agg(wp.push, '; ' order by wp.idempotency_key)
                                 from written_push wp where wp.scenario = r.scenario)
           when 'would_fire' then (select pg_catalog.string_agg(po.push, '; ' order by po.idempotency_key)
                                   from push_of po where po.scenario = r.scenario)
         end
  from answer r
  order by pg_catalog.array_position(array['certification_expiry', 'milestone', 'inactivity'], r.scenario), r.scenario;
end
$$;

-- The new functions are the owner's (evaluate_batch and explain run them as the owner); nobody else
-- executes them. evaluate_batch's and remaining_mentors' grants are the ones they had.
revoke all on function scheduler.walk(uuid, uuid, uuid[]) from public;
revoke all on function scheduler.evaluated_mentors(text, uuid, uuid, uuid[]) from public;
revoke all on function scheduler.candidates(text, date, uuid, uuid) from public;
revoke all on function scheduler.sent_on(text) from public;
revoke all on function scheduler.cooldown_until(uuid, text, date, integer) from public;
revoke all on function scheduler.classified_candidates(text, date, uuid, uuid, uuid[]) from public;
revoke all on function scheduler.check_claim(uuid, date, text, integer, integer, text, uuid) from public;
comment on function scheduler.walk(uuid, uuid, uuid[]) is
  'No fixed search_path on purpose: inlined into evaluate_batch and explain (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';
comment on function scheduler.evaluated_mentors(text, uuid, uuid, uuid[]) is
  'No fixed search_path on purpose: inlined into evaluate_batch and explain (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';
comment on function scheduler.candidates(text, date, uuid, uuid) is
  'No fixed search_path on purpose: inlined into evaluate_batch and explain (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';
comment on function scheduler.sent_on(text) is
  'No fixed search_path on purpose: inlined into evaluate_batch and explain (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';
comment on function scheduler.cooldown_until(uuid, text, date, integer) is
  'No fixed search_path on purpose: inlined into evaluate_batch and explain (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';
comment on function scheduler.classified_candidates(text, date, uuid, uuid, uuid[]) is
  'No fixed search_path on purpose: inlined into evaluate_batch and explain (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';
