-- The source contract (docs/source-contract.md): the scheduler reads the app only through the views in
-- schema scheduler_source, checks them once per run, and counts as evaluated only the mentors a scenario is
-- enabled for.
--
-- * Projects migrated before the contract existed get its placeholder views here (a fresh project gets them
--   from 20261126090100_scheduler_schema.sql); the operator replaces them with a mapping of their own
--   (supabase/reference/source_mapping.sql for the reference schema). A view that exists is left alone.
-- * The scheduler's tables lose their foreign keys to the app's tables (views cannot be referenced, and the
--   app's tables are not the scheduler's to constrain); the app's tables themselves stay as they are.
-- * Every function that read public.organisations, peer_mentors, activities, certifications or device_tokens
--   is redefined over scheduler_source.* (the same SQL otherwise), with three changes: evaluate_batch counts
--   as evaluated only mentors of organisations where the scenario is enabled; claim_pushes takes an advisory
--   lock per mentor instead of locking the app's mentor row; record_deliveries disables dead device tokens
--   through the contract's view and survives a view that is not updatable.
-- * scheduler.check_source(), executed by the function role once per run: the contract's views exist with the
--   contract's column types, and the source yields at least one active mentor; otherwise SQLSTATE SC422 with
--   a message naming the problem. The run fails (HTTP 500, error code source_contract) and the watchdog
--   raises source_contract.
-- Safe to apply twice.

create schema if not exists scheduler_source;
comment on schema scheduler_source is
  'Scenario scheduler source contract: views over the app''s tables. Not exposed through the Data API.';
revoke all on schema scheduler_source from public;
do $$
declare
  r text;
begin
  if pg_catalog.to_regclass('scheduler_source.organisations') is null then
    create view scheduler_source.organisations as
      select null::uuid as id, null::text as name, null::text as timezone where false;
  end if;
  if pg_catalog.to_regclass('scheduler_source.peer_mentors') is null then
    create view scheduler_source.peer_mentors as
      select null::uuid as id, null::uuid as organisation_id, null::text as full_name, null::text as status,
             null::text as locale, null::date as joined_on
      where false;
  end if;
  if pg_catalog.to_regclass('scheduler_source.activities') is null then
    create view scheduler_source.activities as
      select null::uuid as user_id, null::date as activity_date where false;
  end if;
  if pg_catalog.to_regclass('scheduler_source.certifications') is null then
    create view scheduler_source.certifications as
      select null::uuid as id, null::uuid as user_id, null::text as name, null::date as expires_at where false;
  end if;
  if pg_catalog.to_regclass('scheduler_source.device_tokens') is null then
    create view scheduler_source.device_tokens as
      select null::uuid as user_id, null::text as token, null::text as platform, null::boolean as disabled
      where false;
  end if;
  -- Supabase's API roles and the function role: nothing in the contract's schema.
  for r in select rolname from pg_catalog.pg_roles
           where rolname in ('anon', 'authenticated', 'service_role', 'scenario_scheduler') loop
    execute pg_catalog.format('revoke all on schema scheduler_source from %I', r);
    execute pg_catalog.format('revoke all on all tables in schema scheduler_source from %I', r);
  end loop;
end
$$;

-- Foreign keys from the scheduler's tables to the app's tables (created by earlier versions of the migrations).
do $$
declare
  c record;
begin
  for c in
    select k.conname, k.conrelid::regclass as tbl
    from pg_catalog.pg_constraint k
    where k.contype = 'f'
      and k.conrelid in (pg_catalog.to_regclass('public.notifications'), pg_catalog.to_regclass('scheduler.scenario_config'),
                         pg_catalog.to_regclass('scheduler.delivery_config'))
      and k.confrelid in (pg_catalog.to_regclass('public.organisations'), pg_catalog.to_regclass('public.peer_mentors'))
  loop
    execute pg_catalog.format('alter table %s drop constraint %I', c.tbl, c.conname);
  end loop;
end
$$;

-- The functions below, over scheduler_source.* (see 20261126090200_scheduler_functions.sql for their design).
create or replace function scheduler.effective_config(p_scenario text)
returns table (organisation_id uuid, enabled boolean, params jsonb, cooldown_days integer, priority integer)
language sql stable
as $$
  select o.id,
         coalesce(oc.enabled, d.enabled),
         d.params || coalesce(oc.params, '{}'::jsonb),
         coalesce(oc.cooldown_days, d.cooldown_days),
         coalesce(oc.priority, d.priority)
  from scheduler_source.organisations o
  join scheduler.scenario_config d on d.scenario = p_scenario and d.organisation_id is null
  left join scheduler.scenario_config oc on oc.scenario = p_scenario and oc.organisation_id = o.id
$$;

create or replace function scheduler.inactivity_candidates(p_date date, p_after uuid, p_last uuid)
returns table (user_id uuid, organisation_id uuid, idempotency_key text, data jsonb,
               cooldown_days integer, priority integer)
language sql stable
as $$
  select m.id, m.organisation_id,
         'inactivity:' || m.id::text || ':' || p_date::text,
         jsonb_build_object(
           'days_inactive', p_date - coalesce(la.last_date, m.joined_on),
           'last_activity_date', la.last_date,
           'inactivity_days', c.inactivity_days),
         c.cooldown_days, c.priority
  from scheduler_source.peer_mentors m
  join (select ec.organisation_id, ec.enabled, ec.cooldown_days, ec.priority, ec.params,
               (ec.params ->> 'inactivity_days')::integer as inactivity_days
        from scheduler.effective_config('inactivity') ec offset 0) c on c.organisation_id = m.organisation_id
  cross join lateral (
    select max(a.activity_date) as last_date
    from scheduler_source.activities a
    where a.user_id = m.id and a.activity_date <= p_date
  ) la
  where m.status = 'active' and m.id > p_after and m.id <= p_last and c.enabled
    and p_date - coalesce(la.last_date, m.joined_on) >= c.inactivity_days
$$;

create or replace function scheduler.milestone_candidates(p_date date, p_after uuid, p_last uuid)
returns table (user_id uuid, organisation_id uuid, idempotency_key text, data jsonb,
               cooldown_days integer, priority integer)
language sql stable
as $$
  select m.id, m.organisation_id,
         'milestone:' || m.id::text || ':' || lv.level::text,
         jsonb_build_object('level', lv.level, 'activity_count', ac.n, 'levels_reached', lv.reached),
         c.cooldown_days, c.priority
  from scheduler_source.peer_mentors m
  join scheduler.effective_config('milestone') c on c.organisation_id = m.organisation_id
  cross join lateral (
    select count(*)::integer as n
    from scheduler_source.activities a
    where a.user_id = m.id and a.activity_date <= p_date
  ) ac
  cross join lateral (
    select max(l.v::integer) as level, jsonb_agg(l.v::integer order by l.v::integer) as reached
    from jsonb_array_elements_text(c.params -> 'levels') l(v)
    where l.v::integer <= ac.n
  ) lv
  left join lateral (
    select 1 as hit
    from public.notifications n
    where n.user_id = m.id and n.scenario = 'milestone' and (n.data ->> 'level')::integer >= lv.level
    limit 1
  ) higher on true
  where m.status = 'active' and m.id > p_after and m.id <= p_last and c.enabled
    and lv.level is not null and higher.hit is null
$$;

create or replace function scheduler.certification_candidates(p_date date, p_after uuid, p_last uuid)
returns table (user_id uuid, organisation_id uuid, idempotency_key text, data jsonb,
               cooldown_days integer, priority integer)
language sql stable
as $$
  select m.id, m.organisation_id,
         'certification_expiry:' || m.id::text || ':' || ce.id::text || ':' || ce.expires_at::text
           || ':' || r.rung::text,
         jsonb_build_object(
           'certification_id', ce.id, 'certification_name', ce.name, 'expires_at', ce.expires_at,
           'days_left', ce.expires_at - p_date, 'rung', r.rung),
         c.cooldown_days, c.priority
  from scheduler_source.peer_mentors m
  join scheduler.effective_config('certification_expiry') c on c.organisation_id = m.organisation_id
  join scheduler_source.certifications ce on ce.user_id = m.id and ce.expires_at >= p_date
  cross join lateral (
    select min(x.v::integer) as rung
    from jsonb_array_elements_text(c.params -> 'rungs') x(v)
    where x.v::integer >= ce.expires_at - p_date
  ) r
  where m.status = 'active' and m.id > p_after and m.id <= p_last and c.enabled and r.rung is not null
$$;

create or replace function scheduler.remaining_mentors(p_after uuid)
returns bigint
language sql stable security definer set search_path = ''
as $$
  select count(*) from scheduler_source.peer_mentors m
  where m.status = 'active' and m.id > coalesce(p_after, '00000000-0000-0000-0000-000000000000'::uuid)
$$;

create or replace function scheduler.evaluate_batch(
  p_run_id uuid, p_scenario text, p_date date, p_after uuid, p_limit integer, p_dry_run boolean)
returns table (evaluated integer, candidates integer, notified integer, suppressed_cooldown integer,
               duplicates integer, conflicts integer, next_cursor uuid, done boolean)
language plpgsql security definer set search_path = ''
as $$
#variable_conflict use_column
declare
  v_after uuid := coalesce(p_after, '00000000-0000-0000-0000-000000000000'::uuid);
  v_last   uuid;
  v_walked integer;
  v_fresh  integer;
  cp      scheduler.checkpoints;
begin
  -- The caller's inputs (see the top of this file); then the scenarios the dispatch below knows.
  perform scheduler.check_date('evaluate_batch', p_date);
  perform scheduler.check_scenario('evaluate_batch', p_scenario);
  perform scheduler.check_range('evaluate_batch: batch limit', p_limit, 1, 100000);
  if p_scenario not in ('inactivity', 'milestone', 'certification_expiry') then
    raise exception using errcode = '22023', message = format('unknown scenario %L', p_scenario);
  end if;

  if not p_dry_run then
    select * into cp from scheduler.checkpoints c
    where c.evaluation_date = p_date and c.scenario = p_scenario
    for update;
    if not found or cp.lease_owner is distinct from p_run_id then
      raise exception using errcode = 'SC409', message = 'checkpoint lease is not held by this run';
    end if;
    if cp.cursor is distinct from p_after or cp.done then
      raise exception using errcode = 'SC409', message = 'checkpoint moved since it was claimed';
    end if;
  end if;

  select b.id, b.n into v_last, v_walked
  from (
    select m.id, row_number() over (order by m.id)::integer as n
    from scheduler_source.peer_mentors m
    where m.status = 'active' and m.id > v_after
    order by m.id
    limit p_limit
  ) b
  order by b.n desc
  limit 1;
  v_walked := coalesce(v_walked, 0);
  evaluated := 0;

  if v_walked > 0 then
    -- Evaluated: the batch's mentors of organisations where the scenario is enabled (the walk passes the
    -- others without evaluating them).
    select count(*)::integer into evaluated
    from scheduler_source.peer_mentors m
    where m.status = 'active' and m.id > v_after and m.id <= v_last
      and m.organisation_id in (select ec.organisation_id from scheduler.effective_config(p_scenario) ec
                                where ec.enabled);
  end if;

  if v_walked = 0 then
    candidates := 0; notified := 0; suppressed_cooldown := 0; duplicates := 0; conflicts := 0;
    next_cursor := p_after;
    done := true;
  else
    with cand as (
      select * from scheduler.inactivity_candidates(p_date, v_after, v_last) where p_scenario = 'inactivity'
      union all
      select * from scheduler.milestone_candidates(p_date, v_after, v_last) where p_scenario = 'milestone'
      union all
      select * from scheduler.certification_candidates(p_date, v_after, v_last)
      where p_scenario = 'certification_expiry'
    ),
    classified as (
      select c.*,
             dup.hit is not null as is_duplicate,
             cool.hit is not null as in_cooldown
      from cand c
      -- One probe of the unique key per candidate (never a scan of every notification).
      left join lateral (
        select 1 as hit from public.notifications d where d.idempotency_key = c.idempotency_key
      ) dup on true
      left join lateral (
        select 1 as hit
        from public.notifications n
        where c.cooldown_days > 0
          and n.user_id = c.user_id and n.scenario = p_scenario
          and n.cooldown_period && daterange(p_date, p_date + c.cooldown_days)
        limit 1
      ) cool on true
    ),
    ins as (
      insert into public.notifications (user_id, organisation_id, scenario, evaluation_date, idempotency_key,
                                        cooldown_period, priority, data, run_id)
      select c.user_id, c.organisation_id, p_scenario, p_date, c.idempotency_key,
             case when c.cooldown_days > 0 then daterange(p_date, p_date + c.cooldown_days) end,
             c.priority, c.data, p_run_id
      from classified c
      where not p_dry_run and not c.is_duplicate and not c.in_cooldown
      -- A concurrent writer got there first (same key, or a cooldown it opened): skip, never fail.
      on conflict do nothing
      returning 1
    )
    select count(*)::integer,
           (count(*) filter (where c.is_duplicate))::integer,
           (count(*) filter (where c.in_cooldown and not c.is_duplicate))::integer,
           (count(*) filter (where not c.is_duplicate and not c.in_cooldown))::integer,
           (select count(*) from ins)::integer
    into candidates, duplicates, suppressed_cooldown, v_fresh, notified
    from classified c;

    if p_dry_run then
      notified := v_fresh;
    end if;
    conflicts := v_fresh - notified;
    next_cursor := v_last;
    done := not exists (select 1 from scheduler_source.peer_mentors m where m.status = 'active' and m.id > v_last);
  end if;

  if not p_dry_run then
    update scheduler.checkpoints c
    set cursor = next_cursor, done = evaluate_batch.done,
        evaluated = c.evaluated + evaluate_batch.evaluated, notified = c.notified + evaluate_batch.notified,
        batches = c.batches + 1, updated_at = now(),
        completed_at = case when evaluate_batch.done then now() end
    where c.evaluation_date = p_date and c.scenario = p_scenario;
  end if;
  return next;
end
$$;

create or replace function scheduler.claim_pushes(
  p_run_id uuid, p_now timestamptz, p_today date, p_limit integer, p_lease_ms integer, p_max_attempts integer)
returns table (notification_id bigint, disposition text, reason text, user_id uuid, organisation_id uuid,
               scenario text, locale text, full_name text, data jsonb, tokens text[], attempts integer,
               push_until timestamptz)
-- jit = off: the planner's estimates for the policy statement exceed jit_above_cost, and compiling it took
-- longer (about 0.2 s a claim) than running it.
language plpgsql security definer set search_path = '' set jit = off
as $$
#variable_conflict use_column
declare
  v_mentors uuid[];
  v_ready   date[];
begin
  -- The checks 20261201100100_least_privilege.sql gives every function the function role executes: at most
  -- 10,000 mentors (the engine claims 100), leases up to an hour, up to 100 attempts, dates in the window.
  perform scheduler.check_time('claim_pushes', p_now);
  perform scheduler.check_date('claim_pushes', p_today);
  perform scheduler.check_range('claim_pushes: limit', p_limit, 1, 10000);
  perform scheduler.check_range('claim_pushes: lease_ms', p_lease_ms, 0, 3600000);
  perform scheduler.check_range('claim_pushes: max_attempts', p_max_attempts, 1, 100);

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
  -- mentor another pass is deciding for is skipped, not waited for. The lock is a transaction-level
  -- advisory lock on the mentor's id, not a row lock in the app's tables: the scheduler reads the app only
  -- through its contract views, which need not be lockable (two mentors sharing a hash share a lock: one
  -- of them waits for the next pass).
  select array_agg(l.user_id) into v_mentors
  from (
    select u.user_id
    from (
      select distinct f.user_id
      from (
        select n.user_id
        from public.notifications n
        where n.status = 'pending' and (n.lease_until is null or n.lease_until < clock_timestamp())
          and (n.available_at is null or n.available_at <= p_now)
          and (n.evaluation_date < p_today or n.evaluation_date = any(v_ready))
        order by n.priority desc, n.id
        limit p_limit * 4
      ) f
    ) u
    -- The mentor's lock (released when the claim's transaction ends); taken only while rows are still needed.
    where pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('scheduler.claim_pushes'),
                                               pg_catalog.hashtext(u.user_id::text))
    limit p_limit
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
    select n.id, n.user_id, n.priority, n.evaluation_date, n.attempts, n.idempotency_key,
           -- The notification's own deadline where it has one (a certification's expiry date).
           case when n.data ->> 'expires_at' ~ '^\d{4}-\d{2}-\d{2}$' then (n.data ->> 'expires_at')::date end
             as deadline,
           c.daily_cap, c.max_age_days,
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
                                          order by p.priority desc, p.deadline asc nulls last,
                                                   p.evaluation_date desc, p.idempotency_key) <= p.daily_cap - p.used
                  then 'send' else 'daily_cap' end) as verdict,
           case when p.quiet then
             ((case when p.local_now::time < p.quiet_end then p.local_day else p.local_day + 1 end)
               + p.quiet_end) at time zone p.timezone
           end as release_at,
           -- The end of the mentor's local day: a push not delivered by then is dropped by the push service.
           ((p.local_day + 1)::timestamp at time zone p.timezone) as push_until
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
    returning n.id, d.verdict, n.user_id, n.organisation_id, n.scenario, n.data, n.attempts, d.push_until
  )
  select u.id,
         case when u.verdict in ('expired', 'no_device', 'daily_cap') then 'suppressed' else u.verdict end,
         case when u.verdict in ('expired', 'no_device', 'daily_cap') then u.verdict
              when u.verdict = 'failed' then 'abandoned' end,
         u.user_id, u.organisation_id, u.scenario, coalesce(m.locale, 'nb'), coalesce(m.full_name, ''), u.data,
         case when u.verdict = 'send' then
           (select array_agg(t.token order by t.token) from scheduler_source.device_tokens t
            where t.user_id = u.user_id and not t.disabled)
         end,
         u.attempts,
         case when u.verdict = 'send' then u.push_until end
  from upd u
  -- A left join: a mentor gone from the source still gets its decided rows back (a push without a name).
  left join scheduler_source.peer_mentors m on m.id = u.user_id
  order by u.id;
end
$$;

create or replace function scheduler.record_deliveries_unchecked(p_run_id uuid, p_results jsonb, p_disable_tokens text[])
returns integer
language plpgsql security definer set search_path = ''
as $$
declare
  v_recorded integer;
begin
  -- Dead tokens are disabled through the contract's view (the one write the scheduler makes to the app). A
  -- view that is not updatable (no single-table mapping, no INSTEAD OF trigger) leaves them enabled: the
  -- results are recorded all the same, with a warning in the database log. Dynamic SQL: whether the view is
  -- updatable depends on the operator's mapping, known at run time only (the placeholder is not, and a
  -- constant statement would be planned against it by a static checker such as plpgsql_check).
  if coalesce(pg_catalog.cardinality(p_disable_tokens), 0) > 0 then
    begin
      execute pg_catalog.format('update %I.%I t set disabled = true where t.token = any($1) and not t.disabled',
                                'scheduler_source', 'device_tokens')
        using p_disable_tokens;
    exception when object_not_in_prerequisite_state or feature_not_supported or wrong_object_type then
      raise warning 'scheduler: % dead device token(s) left enabled: scheduler_source.device_tokens is not updatable (%)',
        pg_catalog.cardinality(p_disable_tokens), sqlerrm;
    end;
  end if;

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

-- claim_pushes keeps jit off (see 20261201120000_push_delivery_urgency.sql); create or replace kept its SET.
revoke all on function scheduler.claim_pushes(uuid, timestamptz, date, integer, integer, integer) from public;
revoke all on function scheduler.record_deliveries_unchecked(uuid, jsonb, text[]) from public;
revoke all on function scheduler.evaluate_batch(uuid, text, date, uuid, integer, boolean) from public;
revoke all on function scheduler.remaining_mentors(uuid) from public;
revoke all on function scheduler.effective_config(text) from public;
revoke all on function scheduler.inactivity_candidates(date, uuid, uuid) from public;
revoke all on function scheduler.milestone_candidates(date, uuid, uuid) from public;
revoke all on function scheduler.certification_candidates(date, uuid, uuid) from public;

-- The contract: per view, its columns and their types (docs/source-contract.md).
create or replace function scheduler.source_contract()
returns table (view_name text, column_name text, type_name regtype)
language sql immutable set search_path = ''
as $$
  values ('organisations', 'id', 'uuid'::pg_catalog.regtype), ('organisations', 'name', 'text'),
         ('organisations', 'timezone', 'text'),
         ('peer_mentors', 'id', 'uuid'), ('peer_mentors', 'organisation_id', 'uuid'),
         ('peer_mentors', 'full_name', 'text'), ('peer_mentors', 'status', 'text'),
         ('peer_mentors', 'locale', 'text'), ('peer_mentors', 'joined_on', 'date'),
         ('activities', 'user_id', 'uuid'), ('activities', 'activity_date', 'date'),
         ('certifications', 'id', 'uuid'), ('certifications', 'user_id', 'uuid'),
         ('certifications', 'name', 'text'), ('certifications', 'expires_at', 'date'),
         ('device_tokens', 'user_id', 'uuid'), ('device_tokens', 'token', 'text'),
         ('device_tokens', 'platform', 'text'), ('device_tokens', 'disabled', 'boolean')
$$;

-- What does not hold in the contract, one line per problem (empty: it holds). Catalog reads only.
create or replace function scheduler.source_problems()
returns setof text
language sql stable set search_path = ''
as $$
  select case
           when a.attname is null and not exists (
             select 1 from pg_catalog.pg_class r
             where r.relnamespace = 'scheduler_source'::pg_catalog.regnamespace and r.relname = c.view_name)
             then pg_catalog.format('scheduler_source.%s is missing', c.view_name)
           when a.attname is null
             then pg_catalog.format('scheduler_source.%s has no column %s (%s)', c.view_name, c.column_name, c.type_name)
           else pg_catalog.format('scheduler_source.%s.%s is %s, want %s', c.view_name, c.column_name,
                                  pg_catalog.format_type(a.atttypid, a.atttypmod), c.type_name)
         end
  from scheduler.source_contract() c
  left join pg_catalog.pg_class r
    on r.relnamespace = 'scheduler_source'::pg_catalog.regnamespace and r.relname = c.view_name
  left join pg_catalog.pg_attribute a
    on a.attrelid = r.oid and a.attname = c.column_name and a.attnum > 0 and not a.attisdropped
  where a.attname is null or a.atttypid <> c.type_name
  -- One line for a missing view, not one per column.
  group by 1
  order by 1
$$;

-- Checks the contract once per run (the function role executes it before any batch): the views exist with
-- the contract's column types, and the source yields at least one active mentor. Otherwise it raises
-- SQLSTATE SC422 with a message naming every problem; the run fails and the watchdog says so.
create or replace function scheduler.check_source()
returns void
language plpgsql stable security definer set search_path = ''
as $$
declare
  v_problems text;
begin
  select pg_catalog.string_agg(p, '; ') into v_problems from scheduler.source_problems() p;
  if v_problems is not null then
    raise exception using errcode = 'SC422', message = 'source contract does not hold: ' || v_problems,
      hint = 'map scheduler_source onto the app''s tables: docs/source-contract.md';
  end if;
  -- Planned only now that the view is known to exist with its columns.
  if not exists (select 1 from scheduler_source.peer_mentors m where m.status = 'active') then
    raise exception using errcode = 'SC422',
      message = 'source contract: scheduler_source.peer_mentors yields no active mentor (still the empty placeholder, or a mapping that selects nobody)',
      hint = 'map scheduler_source onto the app''s tables: docs/source-contract.md';
  end if;
end
$$;

revoke all on function scheduler.source_contract() from public;
revoke all on function scheduler.source_problems() from public;
revoke all on function scheduler.check_source() from public;
grant execute on function scheduler.check_source() to scenario_scheduler;

-- The watchdog raises source_contract when a run of today failed on the contract (the run's report carries
-- the problem). It explains that day's HTTP 500 answers and the missing evaluation: those are not raised
-- besides it. The findings of 20261201110200_scheduler_watchdog.sql become scheduler.watch_findings_core.
alter table scheduler.alerts drop constraint if exists alerts_problem_check;
alter table scheduler.alerts add constraint alerts_problem_check check (problem in (
  'not_scheduled', 'vault_entry_missing', 'invoke_failed', 'no_answer', 'unauthorised',
  'unreachable', 'timeout', 'http_error', 'run_missing', 'run_partial', 'source_contract'));

do $$
begin
  if pg_catalog.to_regprocedure('scheduler.watch_findings_core(timestamptz)') is null then
    alter function scheduler.watch_findings(timestamptz) rename to watch_findings_core;
  end if;
end
$$;
revoke all on function scheduler.watch_findings_core(timestamptz) from public;

create or replace function scheduler.watch_findings(p_now timestamptz default now())
returns table (problem text, detail text, since timestamptz)
language plpgsql stable set search_path = ''
as $$
declare
  v_today  date := (p_now at time zone (select s.time_zone from scheduler.ops_settings s))::date;
  v_source boolean := false;
  r        record;
begin
  -- The newest run of today that failed on the contract, unless a later run of today got past the check.
  for r in
    select u.report ->> 'problem' as what, u.started_at
    from scheduler.runs u
    where u.evaluation_date = v_today and u.status = 'failed' and u.report ->> 'error_code' = 'source_contract'
      and not exists (select 1 from scheduler.runs v
                      where v.evaluation_date = v_today and v.started_at > u.started_at
                        and coalesce(v.report ->> 'error_code', '') <> 'source_contract' and v.status <> 'running')
    order by u.started_at desc
    limit 1
  loop
    problem := 'source_contract';
    detail := r.what;
    since := null;
    v_source := true;
    return next;
  end loop;
  for r in select * from scheduler.watch_findings_core(p_now) f loop
    continue when v_source and r.problem in ('http_error', 'run_missing', 'run_partial');
    problem := r.problem;
    detail := r.detail;
    since := r.since;
    return next;
  end loop;
end
$$;
revoke all on function scheduler.watch_findings(timestamptz) from public;
