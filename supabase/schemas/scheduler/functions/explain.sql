-- Function scheduler.explain, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.explain(p_mentor uuid, p_date date) RETURNS TABLE(scenario text, outcome text, reason text, notifications jsonb, push text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $_$
#variable_conflict use_column
declare
  v_zero constant uuid := '00000000-0000-0000-0000-000000000000';
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
  -- What evaluate_batch would insert for this mentor, classified as it classifies candidates.
  cand as (
    select 'inactivity'::text as scenario, c.* from scheduler.inactivity_candidates(p_date, v_zero, p_mentor) c
    where c.user_id = p_mentor
    union all
    select 'milestone', c.* from scheduler.milestone_candidates(p_date, v_zero, p_mentor) c
    where c.user_id = p_mentor
    union all
    select 'certification_expiry', c.* from scheduler.certification_candidates(p_date, v_zero, p_mentor) c
    where c.user_id = p_mentor
  ),
  classified as (
    select c.scenario, c.idempotency_key, c.data, c.priority, dup.evaluation_date as sent_on, cool.until,
           case when dup.evaluation_date is not null then 'already_sent'
                when cool.until is not null then 'cooldown'
                else 'would_fire' end as state
    from cand c
    left join lateral (
      select d.evaluation_date from public.notifications d where d.idempotency_key = c.idempotency_key
    ) dup on true
    left join lateral (
      select max(pg_catalog.upper(n.cooldown_period)) as until
      from public.notifications n
      where c.cooldown_days > 0 and n.user_id = p_mentor and n.scenario = c.scenario
        and n.cooldown_period && pg_catalog.daterange(p_date, p_date + c.cooldown_days)
    ) cool on true
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
  inactivity as (
    select 'inactivity'::text as scenario,
           coalesce(case when exists (select 1 from written w where w.scenario = 'inactivity') then 'notified' end,
                    c.state, f.verdict) as outcome,
           f.*, c.until, c.idempotency_key
    from scheduler.inactivity_facts(p_date, v_zero, p_mentor) f
    left join classified c on c.scenario = 'inactivity'
    where f.user_id = p_mentor
  ),
  milestone as (
    select 'milestone'::text as scenario,
           coalesce(case when exists (select 1 from written w where w.scenario = 'milestone') then 'notified' end,
                    c.state, f.verdict) as outcome,
           f.*, c.until, c.sent_on
    from scheduler.milestone_facts(p_date, v_zero, p_mentor) f
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
             when 'repeat_cap' then pg_catalog.format(
               'repeat cap reached: %s nudges in this inactive spell (since %s), at most %s; a new activity re-arms it',
               i.spell_nudges, i.spell_start, 1 + i.max_repeats)
             when 'spacing' then case
               when p_date - i.previous_nudge < i.repeat_every_days then pg_catalog.format(
                 'nudged on %s: the next repeat is not before %s (every %s days)',
                 i.previous_nudge, i.previous_nudge + i.repeat_every_days, i.repeat_every_days)
               else pg_catalog.format('a nudge of this spell on %s is fewer than %s days away',
                 i.next_nudge, i.repeat_every_days) end
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
    select 'certification_expiry',
           case
             when v_status <> 'active' then 'not_active'
             when not coalesce((select e.enabled from scheduler.effective_config('certification_expiry') e
                                where e.organisation_id = v_org), false) then 'disabled'
             when not exists (select 1 from certification) then 'no_certification'
             else (select c.outcome from certification c
                   order by pg_catalog.array_position(array['notified', 'would_fire', 'cooldown', 'already_sent',
                                                            'narrower_sent', 'beyond_rungs'], c.outcome),
                            c.expires_at
                   limit 1)
           end,
           case
             when v_status <> 'active' then pg_catalog.format('the mentor is %s: only active mentors are evaluated', v_status)
             when not coalesce((select e.enabled from scheduler.effective_config('certification_expiry') e
                                where e.organisation_id = v_org), false)
               then 'certification_expiry is switched off for the mentor''s organisation'
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
  order by pg_catalog.array_position(array['certification_expiry', 'milestone', 'inactivity'], r.scenario);
end
$_$;

REVOKE ALL ON FUNCTION scheduler.explain(p_mentor uuid, p_date date) FROM PUBLIC;
GRANT ALL ON FUNCTION scheduler.explain(p_mentor uuid, p_date date) TO scenario_scheduler;
