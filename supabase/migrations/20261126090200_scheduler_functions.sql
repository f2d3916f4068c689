-- Scenario evaluation as set-based SQL, and the run bookkeeping around it.
--
-- The function connects with a role that may only execute the SECURITY DEFINER functions below
-- (search_path = '', every name qualified). The candidate functions are plain SQL so the planner can inline
-- them into evaluate_batch: one statement per batch, no per-mentor round trips.
-- Every per-mentor lookup is an index probe (a nested loop): the planner's estimates for a uuid range are
-- far too small for a batch, and a join of per-batch aggregates was planned as a nested loop that re-ran
-- the aggregate for every mentor. Duplicates are one probe of the unique idempotency key per candidate
-- (a hash join read every notification for every batch: quadratic over a run), and the inactivity
-- settings are evaluated once per organisation. docs/performance.md has the measurements.
-- Safe to apply twice (create or replace).

-- Effective configuration of one scenario for every organisation: the default row, overridden per organisation.
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

-- inactivity: no activity for inactivity_days (counted from joined_on for a mentor who never had one).
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

-- milestone: the highest level the activity count has reached, once per level ever. Levels crossed at once
-- give one notification for the highest; a lower level is never sent after a higher one.
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

-- certification_expiry: a certification expiring within a lead-time rung. Only the current (smallest
-- reached) rung is a candidate, so after downtime the mentor gets the latest rung, not every missed one.
-- The expiry date is part of the key: a renewed certification starts its rungs again.
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

-- Scenarios enabled by default or for at least one organisation, most important first.
create or replace function scheduler.enabled_scenarios()
returns table (scenario text, priority integer)
language sql stable security definer set search_path = ''
as $$
  select d.scenario, d.priority
  from scheduler.scenario_config d
  where d.organisation_id is null
    and exists (select 1 from scheduler.scenario_config x where x.scenario = d.scenario
                and coalesce(x.enabled, d.enabled))
  order by d.priority desc, d.scenario
$$;

create or replace function scheduler.start_run(
  p_run_id uuid, p_date date, p_trigger text, p_dry_run boolean, p_request jsonb)
returns void
language sql security definer set search_path = ''
as $$
  insert into scheduler.runs (id, evaluation_date, trigger, dry_run, request)
  values (p_run_id, p_date, p_trigger, p_dry_run, coalesce(p_request, '{}'::jsonb))
$$;

create or replace function scheduler.finish_run(p_run_id uuid, p_status text, p_duration_ms integer, p_report jsonb)
returns void
language sql security definer set search_path = ''
as $$
  update scheduler.runs
  set status = p_status, finished_at = now(), duration_ms = p_duration_ms, report = p_report
  where id = p_run_id
$$;

-- Takes the lease on one scenario's checkpoint for one evaluation date.
-- outcome: 'claimed' (the caller may advance it), 'busy' (another live run holds it) or 'done'.
create or replace function scheduler.claim_checkpoint(
  p_run_id uuid, p_date date, p_scenario text, p_lease_ms integer)
returns table (outcome text, cursor uuid, evaluated integer, notified integer)
language plpgsql security definer set search_path = ''
as $$
#variable_conflict use_column
declare
  cp scheduler.checkpoints;
begin
  insert into scheduler.checkpoints (evaluation_date, scenario) values (p_date, p_scenario)
  on conflict do nothing;
  select * into cp from scheduler.checkpoints c
  where c.evaluation_date = p_date and c.scenario = p_scenario
  for update;

  if cp.done then
    outcome := 'done';
  elsif cp.lease_owner is not null and cp.lease_owner <> p_run_id and cp.lease_until > clock_timestamp() then
    outcome := 'busy';
  else
    update scheduler.checkpoints c
    set lease_owner = p_run_id,
        lease_until = clock_timestamp() + make_interval(secs => p_lease_ms / 1000.0),
        updated_at = now()
    where c.evaluation_date = p_date and c.scenario = p_scenario;
    outcome := 'claimed';
  end if;
  cursor := cp.cursor;
  evaluated := cp.evaluated;
  notified := cp.notified;
  return next;
end
$$;

-- Gives a lease back (the run stopped: done, out of budget, or failed) so the next run need not wait for it.
create or replace function scheduler.release_checkpoint(p_run_id uuid, p_date date, p_scenario text)
returns void
language sql security definer set search_path = ''
as $$
  update scheduler.checkpoints
  set lease_owner = null, lease_until = null, updated_at = now()
  where evaluation_date = p_date and scenario = p_scenario and lease_owner = p_run_id
$$;

-- Active mentors not yet evaluated after a cursor: the remaining work of a partial run.
create or replace function scheduler.remaining_mentors(p_after uuid)
returns bigint
language sql stable security definer set search_path = ''
as $$
  select count(*) from scheduler_source.peer_mentors m
  where m.status = 'active' and m.id > coalesce(p_after, '00000000-0000-0000-0000-000000000000'::uuid)
$$;

create or replace function scheduler.record_scenario_stats(p_scenario text, p_evaluated integer, p_duration_ms integer)
returns void
language sql security definer set search_path = ''
as $$
  update scheduler.scenario_config
  set last_evaluated_count = p_evaluated, last_duration_ms = p_duration_ms, last_evaluated_at = now()
  where scenario = p_scenario and organisation_id is null
$$;

-- Evaluates one keyset batch of up to p_limit active mentors after p_after for one scenario, inserts the
-- notifications and advances the checkpoint, all in the caller's single transaction (one statement).
-- The caller must hold the checkpoint's lease and pass the cursor it read: a run whose lease was taken
-- over, or that lost a race, gets SQLSTATE SC409 and must stop. With p_dry_run nothing is written.
create or replace function scheduler.evaluate_batch(
  p_run_id uuid, p_scenario text, p_date date, p_after uuid, p_limit integer, p_dry_run boolean)
returns table (evaluated integer, candidates integer, notified integer, suppressed_cooldown integer,
               duplicates integer, conflicts integer, next_cursor uuid, done boolean)
language plpgsql security definer set search_path = ''
as $$
#variable_conflict use_column
declare
  v_after uuid := coalesce(p_after, '00000000-0000-0000-0000-000000000000'::uuid);
  v_last  uuid;
  v_fresh integer;
  cp      scheduler.checkpoints;
begin
  if p_scenario not in ('inactivity', 'milestone', 'certification_expiry') then
    raise exception using errcode = '22023', message = format('unknown scenario %L', p_scenario);
  end if;
  if p_limit is null or p_limit < 1 then
    raise exception using errcode = '22023', message = 'batch limit must be at least 1';
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

  select b.id, b.n into v_last, evaluated
  from (
    select m.id, row_number() over (order by m.id)::integer as n
    from scheduler_source.peer_mentors m
    where m.status = 'active' and m.id > v_after
    order by m.id
    limit p_limit
  ) b
  order by b.n desc
  limit 1;
  evaluated := coalesce(evaluated, 0);

  if evaluated = 0 then
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

-- Only the scheduler's own role (granted in a later migration) may call these.
revoke all on all functions in schema scheduler from public;
