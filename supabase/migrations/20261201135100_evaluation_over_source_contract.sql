-- Evaluation over the source contract (20261201135000_source_contract.sql): the candidate functions,
-- effective_config, remaining_mentors and evaluate_batch read scheduler_source.* instead of the app's tables,
-- for projects migrated before the contract existed (a fresh project's earlier migrations already do). The
-- SQL is otherwise that of 20261126090200_scheduler_functions.sql and 20261201100200_evaluate_batch_checked.sql
-- (see them for the design), with one change: evaluate_batch counts as evaluated only the batch's mentors of
-- organisations where the scenario is enabled (it walked past the others and counted them before).
-- Safe to apply twice (create or replace).

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

revoke all on function scheduler.evaluate_batch(uuid, text, date, uuid, integer, boolean) from public;
revoke all on function scheduler.remaining_mentors(uuid) from public;
revoke all on function scheduler.effective_config(text) from public;
revoke all on function scheduler.inactivity_candidates(date, uuid, uuid) from public;
revoke all on function scheduler.milestone_candidates(date, uuid, uuid) from public;
revoke all on function scheduler.certification_candidates(date, uuid, uuid) from public;
