-- Faster batches, same results. Measured with `task bench` (docs/performance.md):
-- * duplicates: one probe of the unique idempotency key per candidate, instead of a hash join that read
--   every notification for every batch (it grows with the table: quadratic over a run);
-- * inactivity: the configuration is evaluated once per organisation, not once per mentor.
-- Every per-mentor lookup stays an index probe (a nested loop): the planner's estimates for a uuid range
-- are far too small for a batch, and a join of per-batch aggregates was planned as a nested loop that
-- re-ran the aggregate for every mentor. Semantics are unchanged (the engine tests cover them).
-- Safe to apply twice (create or replace).


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
  from public.peer_mentors m
  join (select ec.organisation_id, ec.enabled, ec.cooldown_days, ec.priority, ec.params,
               (ec.params ->> 'inactivity_days')::integer as inactivity_days
        from scheduler.effective_config('inactivity') ec offset 0) c on c.organisation_id = m.organisation_id
  cross join lateral (
    select max(a.activity_date) as last_date
    from public.activities a
    where a.user_id = m.id and a.activity_date <= p_date
  ) la
  where m.status = 'active' and m.id > p_after and m.id <= p_last and c.enabled
    and p_date - coalesce(la.last_date, m.joined_on) >= c.inactivity_days
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
    from public.peer_mentors m
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
    done := not exists (select 1 from public.peer_mentors m where m.status = 'active' and m.id > v_last);
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

revoke all on all functions in schema scheduler from public;
