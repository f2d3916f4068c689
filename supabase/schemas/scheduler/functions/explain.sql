-- Function scheduler.explain, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.explain(p_mentor uuid, p_date date) RETURNS TABLE(scenario text, outcome text, reason text, notifications jsonb, push text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $_$
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
           exists (select 1 from scheduler.evaluated_mentors(d.scenario, v_zero, p_mentor, null, null) e
                   where e.id = p_mentor) as evaluated
    from scheduler.scenario_config d
    where d.organisation_id is null
  ),
  -- What evaluate_batch would do with this mentor's candidates: the batch's own classification.
  classified as (
    -- A held-out mentor (the control group) shows as held_out where the others would fire or were notified.
    select s.scenario, c.idempotency_key, c.data, c.priority, c.sent_on, c.cooldown_until as until,
           case when c.state = 'already_sent' and c.sent_on = p_date
                     and exists (select 1 from scheduler.held_out_nudges h where h.idempotency_key = c.idempotency_key)
                then 'held_out' else c.state end as state,
           hc.holdout_percent
    from scenarios s
    left join scheduler.holdout_config(s.scenario) hc on hc.organisation_id = v_org
    cross join lateral scheduler.classified_candidates(s.scenario, p_date, v_zero, p_mentor, null, array[p_mentor], false) c
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
    select s.scenario, s.evaluated, exists (select 1 from written w where w.scenario = s.scenario) as written,
           exists (select 1 from scheduler.held_out_nudges h
                   where h.user_id = p_mentor and h.scenario = s.scenario and h.evaluation_date = p_date) as held,
           (select hc.holdout_percent from scheduler.holdout_config(s.scenario) hc
            where hc.organisation_id = v_org) as holdout_percent
    from scenarios s
  ),
  inactivity as (
    select 'inactivity'::text as scenario,
           coalesce(case when k.written then 'notified' when k.held then 'held_out' end, c.state, f.verdict) as outcome,
           f.*, c.until, c.idempotency_key, k.holdout_percent
    from scheduler.inactivity_facts(p_date, v_zero, p_mentor, null) f
    join known k on k.scenario = 'inactivity'
    left join classified c on c.scenario = 'inactivity'
    where f.user_id = p_mentor
  ),
  milestone as (
    select 'milestone'::text as scenario,
           coalesce(case when k.written then 'notified' when k.held then 'held_out' end, c.state, f.verdict) as outcome,
           f.*, c.until, c.sent_on, k.holdout_percent
    from scheduler.milestone_facts(p_date, v_zero, p_mentor, null) f
    join known k on k.scenario = 'milestone'
    left join classified c on c.scenario = 'milestone'
    where f.user_id = p_mentor
  ),
  certification as (
    select coalesce(case when c.sent_on = p_date and c.state <> 'held_out' then 'notified' end,
                    c.state, f.verdict) as outcome,
           f.*, c.until, c.sent_on, c.holdout_percent
    from scheduler.certification_facts(p_date, v_zero, p_mentor, null) f
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
             when 'held_out' then pg_catalog.format(
               'held out (control group, %s %% of the organisation): %s days without activity (threshold %s), nudge %s of at most %s recorded as would-have-been-nudged, no notification and no push',
               i.holdout_percent, i.days_inactive, i.inactivity_days, i.spell_nudges + 1, 1 + i.max_repeats)
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
             when 'held_out' then pg_catalog.format(
               'held out (control group, %s %% of the organisation): level %s reached with %s activities, recorded as would-have-been-nudged, no notification and no push',
               m.holdout_percent, m.level, m.activity_count)
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
                   order by pg_catalog.array_position(array['notified', 'would_fire', 'held_out', 'cooldown', 'already_sent',
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
                       when 'held_out' then pg_catalog.format(
                         'rung %s, held out (control group, %s %% of the organisation): recorded as would-have-been-nudged, no notification and no push',
                         c.rung, c.holdout_percent)
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
             when 'held_out' then 'held out (control group): recorded as would-have-been-nudged, no notification and no push'
             else 'a candidate for this date, neither sent nor in a cooldown'
           end
    from known k
    cross join lateral (
      select coalesce(case when v_status <> 'active' then 'not_active'
                           when not k.evaluated then 'disabled'
                           when k.written then 'notified'
                           when k.held then 'held_out' end,
                      (select c.state from classified c where c.scenario = k.scenario
                       order by pg_catalog.array_position(array['would_fire', 'held_out', 'cooldown', 'already_sent'], c.state)
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
$_$;

REVOKE ALL ON FUNCTION scheduler.explain(p_mentor uuid, p_date date) FROM PUBLIC;
GRANT ALL ON FUNCTION scheduler.explain(p_mentor uuid, p_date date) TO scenario_scheduler;
