-- Push delivery: public.notifications becomes an outbox that the function drains after evaluation.
--
-- A delivery pass claims the outbox mentor by mentor (a mentor's row in scheduler_source.peer_mentors is locked with
-- FOR NO KEY UPDATE SKIP LOCKED for the few milliseconds of the claim, so two concurrent passes never decide
-- for the same mentor), applies the delivery policy set-based, and leases the rows it will send. Leased rows
-- are invisible to other passes until the lease expires; the pass records each batch's results at once.
-- Delivery is at least once with a bound: a pass that dies after sending but before recording leaves its
-- rows leased; they become claimable again when the lease expires, and a row claimed max_attempts times
-- without a recorded outcome is marked failed ('abandoned') instead of being sent forever. Pushes carry the
-- notification's id as collapse key, so a repeated push replaces the earlier one on the device.
-- Safe to apply twice.

alter table public.notifications
  add column if not exists attempts integer not null default 0,
  add column if not exists last_error_class text,
  add column if not exists sent_at timestamptz,
  add column if not exists suppressed_reason text,
  -- Not deliverable before this time (quiet hours, or a retry's backoff); null means now.
  add column if not exists available_at timestamptz,
  -- The delivery pass that last handled the row, and until when it holds the row (null: not in flight).
  add column if not exists delivery_run_id uuid,
  add column if not exists lease_until timestamptz,
  -- The mentor's local day the push was claimed for: the daily cap counts pushes per (mentor, push_date).
  add column if not exists push_date date;

do $$
begin
  if not exists (select 1 from pg_catalog.pg_constraint where conname = 'notifications_suppressed_reason') then
    alter table public.notifications add constraint notifications_suppressed_reason check (
      suppressed_reason is null or suppressed_reason in ('daily_cap', 'no_device', 'expired'));
  end if;
end
$$;

comment on column public.notifications.suppressed_reason is
  'Why a suppressed notification got no push (in-app only): daily_cap, no_device or expired.';
comment on column public.notifications.available_at is
  'Pending rows are not delivered before this time: the end of quiet hours, or a retry''s backoff.';

-- The outbox: a mentor's deliverable rows by priority, the outbox in claiming order (so a claim reads a
-- batch's worth of rows, not the whole outbox), and the pushes of a mentor's day.
create index if not exists notifications_outbox on public.notifications (user_id, priority desc, id)
  where status = 'pending';
create index if not exists notifications_outbox_order on public.notifications (priority desc, id)
  where status = 'pending';
create index if not exists notifications_push_date on public.notifications (user_id, push_date)
  where push_date is not null;
create index if not exists notifications_delivery_run on public.notifications (delivery_run_id)
  where delivery_run_id is not null;

-- Delivery policy: a default row (organisation_id null) and optional per-organisation overrides, whose null
-- columns inherit the default's.
create table if not exists scheduler.delivery_config (
  id              bigint generated always as identity primary key,
  organisation_id uuid,
  -- Pushes per mentor per local day across scenarios (highest priority first); null on the default row
  -- means no cap.
  daily_cap       integer check (daily_cap >= 1),
  -- Quiet hours in the organisation's time zone, [quiet_start, quiet_end); may wrap midnight. Equal values
  -- mean no quiet hours.
  quiet_start     time,
  quiet_end       time,
  -- Pending notifications older than this many days (by evaluation date) are suppressed as expired.
  max_age_days    integer check (max_age_days >= 0),
  constraint delivery_config_one_row unique nulls not distinct (organisation_id),
  constraint delivery_config_default_complete check (
    organisation_id is not null or (quiet_start is not null and quiet_end is not null and max_age_days is not null))
);
comment on table scheduler.delivery_config is
  'Push delivery policy: daily cap, quiet hours, maximum age. A default row and per-organisation overrides.';

insert into scheduler.delivery_config (organisation_id, daily_cap, quiet_start, quiet_end, max_age_days)
values (null, 1, '21:00', '07:00', 2)
on conflict on constraint delivery_config_one_row do nothing;

-- Push templates may be overridden per scenario (and organisation) in scenario_config.params:
--   {"templates": {"nb": {"title": "...", "body": "..."}, "en": {...}}}
-- Each given language needs a non-empty title and body; the function checks the template syntax at start.
create or replace function scheduler.templates_valid(p_params jsonb)
returns boolean
language sql immutable set search_path = ''
as $$
  select case
    when p_params -> 'templates' is null then true
    when jsonb_typeof(p_params -> 'templates') <> 'object' then false
    else not exists (
      select 1 from jsonb_each(p_params -> 'templates') t(locale, tpl)
      where t.locale not in ('nb', 'nn', 'en')
         or jsonb_typeof(t.tpl) <> 'object'
         or coalesce(btrim(t.tpl ->> 'title'), '') = ''
         or coalesce(btrim(t.tpl ->> 'body'), '') = '')
  end
$$;

do $$
begin
  if not exists (select 1 from pg_catalog.pg_constraint where conname = 'scenario_config_templates') then
    alter table scheduler.scenario_config add constraint scenario_config_templates
      check (scheduler.templates_valid(params));
  end if;
end
$$;

-- Every template override: the default row's (organisation_id null) and the organisations'.
create or replace function scheduler.push_templates()
returns table (organisation_id uuid, scenario text, locale text, title text, body text)
language sql stable security definer set search_path = ''
as $$
  select c.organisation_id, c.scenario, t.locale, t.tpl ->> 'title', t.tpl ->> 'body'
  from scheduler.scenario_config c
  cross join lateral jsonb_each(
    case when jsonb_typeof(c.params -> 'templates') = 'object' then c.params -> 'templates' else '{}'::jsonb end
  ) t(locale, tpl)
  order by c.organisation_id nulls first, c.scenario, t.locale
$$;

-- Claims the outbox of up to p_limit mentors, most important first, and decides for each of their
-- deliverable rows (pending, not leased, available at p_now, and of an evaluation date that is complete:
-- before p_today, or with every enabled scenario's checkpoint done, so that a day's most important
-- notification exists before the daily cap picks one):
--   failed 'abandoned'      claimed p_max_attempts times without a recorded outcome
--   suppressed 'expired'    evaluation date more than max_age_days before the mentor's local day
--   suppressed 'no_device'  the mentor has no active device token (the notification stays in-app)
--   held                    quiet hours in the organisation's time zone: available_at = the window's end
--   send                    within the daily cap, highest priority first: leased for p_lease_ms
--   suppressed 'daily_cap'  the rest
-- p_now is the clock of the policy (local day, quiet hours), p_today the engine's today (the time zone of
-- evaluation dates); leases use the database's clock.
-- Returns every row it decided on, with what a sender needs for the 'send' rows.
create or replace function scheduler.claim_deliveries(
  p_run_id uuid, p_now timestamptz, p_today date, p_limit integer, p_lease_ms integer, p_max_attempts integer)
returns table (notification_id bigint, disposition text, reason text, user_id uuid, organisation_id uuid,
               scenario text, locale text, full_name text, data jsonb, tokens text[], attempts integer)
-- jit = off: the planner's estimates for the policy statement exceed jit_above_cost, and compiling it took
-- longer (about 0.2 s a claim) than running it.
language plpgsql security definer set search_path = '' set jit = off
as $$
#variable_conflict use_column
declare
  v_mentors uuid[];
  v_ready   date[];
begin
  if p_limit is null or p_limit < 1 then
    raise exception using errcode = '22023', message = 'claim limit must be at least 1';
  end if;

  -- 0. Evaluation dates from today on whose evaluation is complete (earlier dates always are).
  -- (Notifications of a date exist only where a run wrote its checkpoints: read the small table.)
  select coalesce(array_agg(d.evaluation_date), '{}') into v_ready
  from (select distinct c.evaluation_date from scheduler.checkpoints c where c.evaluation_date >= p_today) d
  where not exists (
    select 1 from scheduler.enabled_scenarios() e
    where not exists (select 1 from scheduler.checkpoints c
                      where c.evaluation_date = d.evaluation_date and c.scenario = e.scenario and c.done));

  -- 1. Lock the mentors of the first deliverable rows in claiming order (most important first). Only a
  -- batch's worth of the outbox is read: the index serves the order, and the scan stops at the limit. A
  -- mentor another pass is deciding for is skipped, not waited for.
  select array_agg(l.id) into v_mentors
  from (
    select m.id
    from scheduler_source.peer_mentors m
    where m.id in (
      select n.user_id
      from public.notifications n
      where n.status = 'pending' and (n.lease_until is null or n.lease_until < clock_timestamp())
        and (n.available_at is null or n.available_at <= p_now)
        and (n.evaluation_date < p_today or n.evaluation_date = any(v_ready))
      order by n.priority desc, n.id
      limit p_limit * 4
    )
    limit p_limit
    for no key update of m skip locked
  ) l;
  if v_mentors is null then
    return;
  end if;

  -- 2. A new statement, so a new snapshot: it sees every claim committed before the locks were taken.
  return query
  with cfg as (
    select o.id as organisation_id, o.timezone,
           coalesce(oc.daily_cap, d.daily_cap) as daily_cap,
           coalesce(oc.quiet_start, d.quiet_start) as quiet_start,
           coalesce(oc.quiet_end, d.quiet_end) as quiet_end,
           coalesce(oc.max_age_days, d.max_age_days) as max_age_days
    from scheduler_source.organisations o
    join scheduler.delivery_config d on d.organisation_id is null
    left join scheduler.delivery_config oc on oc.organisation_id = o.id
  ),
  cand as (
    select n.id, n.user_id, n.priority, n.evaluation_date, n.attempts, c.daily_cap, c.max_age_days,
           c.quiet_start, c.quiet_end, c.timezone,
           (p_now at time zone c.timezone) as local_now
    from public.notifications n
    join cfg c on c.organisation_id = n.organisation_id
    where n.user_id = any(v_mentors)
      and n.status = 'pending' and (n.lease_until is null or n.lease_until < clock_timestamp())
      and (n.available_at is null or n.available_at <= p_now)
      and (n.evaluation_date < p_today or n.evaluation_date = any(v_ready))
  ),
  facts as (
    select c.*,
           c.local_now::date as local_day,
           case
             when c.quiet_start = c.quiet_end then false
             when c.quiet_start < c.quiet_end then c.local_now::time >= c.quiet_start and c.local_now::time < c.quiet_end
             else c.local_now::time >= c.quiet_start or c.local_now::time < c.quiet_end
           end as quiet,
           exists (select 1 from scheduler_source.device_tokens t where t.user_id = c.user_id and not t.disabled) as has_device,
           -- Pushes of this mentor's day already sent, in flight in another pass or waiting for a retry.
           (select count(*) from public.notifications x
            where x.user_id = c.user_id and x.push_date = c.local_now::date
              and (x.status = 'sent' or (x.status = 'pending' and x.id not in (select id from cand))))::integer
             as used
    from cand c
  ),
  first_pass as (
    select f.*,
           case
             when f.attempts >= p_max_attempts then 'failed'
             when f.evaluation_date < f.local_day - f.max_age_days then 'expired'
             when not f.has_device then 'no_device'
             when f.quiet then 'held'
           end as early
    from facts f
  ),
  -- Materialized: computed once. Inlined, the planner re-ran the whole policy (window and all) for every
  -- pending row the update visited: quadratic in the outbox.
  decided as materialized (
    select p.id, p.local_day,
           coalesce(p.early,
             case when p.daily_cap is null
                    or row_number() over (partition by p.user_id, (p.early is null)
                                          order by p.priority desc, p.id) <= p.daily_cap - p.used
                  then 'send' else 'daily_cap' end) as verdict,
           case when p.quiet then
             ((case when p.local_now::time < p.quiet_end then p.local_day else p.local_day + 1 end)
               + p.quiet_end) at time zone p.timezone
           end as release_at
    from first_pass p
  ),
  upd as (
    update public.notifications n
    set status = case d.verdict when 'send' then 'pending' when 'held' then 'pending'
                                when 'failed' then 'failed' else 'suppressed' end,
        suppressed_reason = case when d.verdict in ('expired', 'no_device', 'daily_cap') then d.verdict end,
        last_error_class = case when d.verdict = 'failed' then 'abandoned' else n.last_error_class end,
        attempts = n.attempts + case when d.verdict = 'send' then 1 else 0 end,
        available_at = case when d.verdict = 'held' then d.release_at else n.available_at end,
        lease_until = case when d.verdict = 'send'
                           then clock_timestamp() + make_interval(secs => p_lease_ms / 1000.0) end,
        push_date = case when d.verdict = 'send' then d.local_day else n.push_date end,
        delivery_run_id = p_run_id
    from decided d
    -- Re-checked on the row's latest version should a late recorder have changed it meanwhile.
    where n.id = d.id and n.status = 'pending' and (n.lease_until is null or n.lease_until < clock_timestamp())
    returning n.id, d.verdict, n.user_id, n.organisation_id, n.scenario, n.data, n.attempts
  )
  select u.id,
         case when u.verdict in ('expired', 'no_device', 'daily_cap') then 'suppressed' else u.verdict end,
         case when u.verdict in ('expired', 'no_device', 'daily_cap') then u.verdict
              when u.verdict = 'failed' then 'abandoned' end,
         u.user_id, u.organisation_id, u.scenario, m.locale, m.full_name, u.data,
         case when u.verdict = 'send' then
           (select array_agg(t.token order by t.token) from scheduler_source.device_tokens t
            where t.user_id = u.user_id and not t.disabled)
         end,
         u.attempts
  from upd u
  join scheduler_source.peer_mentors m on m.id = u.user_id
  order by u.id;
end
$$;

-- Records the outcomes of a pass's sends, for rows the pass still holds (p_run_id), and disables dead tokens.
-- p_results: [{"id": 1, "outcome": "sent" | "failed" | "retry" | "release", "error_class": "...",
--              "retry_at": "<timestamptz>"}]
--   sent     delivered to at least one device
--   failed   permanently failed (or out of attempts)
--   retry    a temporary failure: pending again, not before retry_at
--   release  never attempted (the budget ran out first): pending again, the attempt not counted
-- Returns the number of rows recorded; a row another pass has taken over meanwhile is left alone.
create or replace function scheduler.record_deliveries(p_run_id uuid, p_results jsonb, p_disable_tokens text[])
returns integer
language plpgsql security definer set search_path = ''
as $$
declare
  v_recorded integer;
begin
  update scheduler_source.device_tokens t set disabled = true
  where t.token = any(coalesce(p_disable_tokens, '{}')) and not t.disabled;

  with r as (
    select * from jsonb_to_recordset(coalesce(p_results, '[]'::jsonb))
      as x(id bigint, outcome text, error_class text, retry_at timestamptz)
  ),
  upd as (
    update public.notifications n
    set status = case r.outcome when 'sent' then 'sent' when 'failed' then 'failed' else 'pending' end,
        sent_at = case when r.outcome = 'sent' then now() else n.sent_at end,
        last_error_class = case when r.outcome in ('failed', 'retry') then r.error_class else n.last_error_class end,
        available_at = case when r.outcome = 'retry' then r.retry_at else n.available_at end,
        attempts = n.attempts - case when r.outcome = 'release' then 1 else 0 end,
        push_date = case when r.outcome = 'release' then null else n.push_date end,
        lease_until = null
    from r
    where n.id = r.id and n.delivery_run_id = p_run_id and n.status = 'pending' and n.lease_until is not null
      and r.outcome in ('sent', 'failed', 'retry', 'release')
    returning 1
  )
  select count(*)::integer into v_recorded from upd;
  return v_recorded;
end
$$;

-- The outbox after a pass: pending rows deliverable at p_now, and pending rows waiting (held for quiet
-- hours, backing off after a temporary error, or in flight).
create or replace function scheduler.delivery_backlog(p_now timestamptz)
returns table (deliverable bigint, waiting bigint)
language sql stable security definer set search_path = ''
as $$
  select count(*) filter (where (n.lease_until is null or n.lease_until < clock_timestamp())
                            and (n.available_at is null or n.available_at <= p_now)),
         count(*) filter (where not ((n.lease_until is null or n.lease_until < clock_timestamp())
                                     and (n.available_at is null or n.available_at <= p_now)))
  from public.notifications n
  where n.status = 'pending'
$$;

-- templates_valid is only for the check constraint (evaluated as the configuring user, the owner).
revoke all on function scheduler.templates_valid(jsonb) from public;
revoke all on function scheduler.push_templates() from public;
revoke all on function scheduler.claim_deliveries(uuid, timestamptz, date, integer, integer, integer) from public;
revoke all on function scheduler.record_deliveries(uuid, jsonb, text[]) from public;
revoke all on function scheduler.delivery_backlog(timestamptz) from public;

do $$
begin
  if exists (select 1 from pg_catalog.pg_roles where rolname = 'scenario_scheduler') then
    grant execute on function
      scheduler.push_templates(),
      scheduler.claim_deliveries(uuid, timestamptz, date, integer, integer, integer),
      scheduler.record_deliveries(uuid, jsonb, text[]),
      scheduler.delivery_backlog(timestamptz)
    to scenario_scheduler;
  end if;
end
$$;
