-- Function scheduler.evaluate_batch, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.evaluate_batch(p_run_id uuid, p_scenario text, p_date date, p_after uuid, p_limit integer, p_dry_run boolean, p_shard integer, p_shards integer, p_slot text) RETURNS TABLE(evaluated integer, candidates integer, notified integer, suppressed_cooldown integer, duplicates integer, conflicts integer, next_cursor uuid, done boolean)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
#variable_conflict use_column
declare
  v_after  uuid;
  v_upper  uuid;  -- [sharded fan-out] the shard's last id (inclusive)
  v_last   uuid;
  v_walked integer;
  v_fresh  integer;
  v_orgs   uuid[];  -- [local time] the slot's organisations (null: every organisation)
  cp       scheduler.checkpoints;
begin
  -- The caller's inputs (see 20261201100200_evaluate_batch_checked.sql); then the scenarios the dispatch below knows.
  perform scheduler.check_date('evaluate_batch', p_date);
  perform scheduler.check_scenario('evaluate_batch', p_scenario);
  perform scheduler.check_range('evaluate_batch: batch limit', p_limit, 1, 100000);
  -- [sharded fan-out] the shard's range: (lower, upper]; the walk starts after lower.
  perform scheduler.check_shard('evaluate_batch', p_shard, p_shards);
  perform scheduler.check_slot('evaluate_batch', p_slot);  -- [local time]
  v_orgs := scheduler.slot_organisations(p_slot);  -- [local time]
  select coalesce(p_after, b.lower), b.upper into v_after, v_upper from scheduler.shard_bounds(p_shard, p_shards) b;
  if p_scenario not in ('inactivity', 'milestone', 'certification_expiry') then
    raise exception using errcode = '22023', message = format('unknown scenario %L', p_scenario);
  end if;

  if not p_dry_run then
    select * into cp from scheduler.checkpoints c
    where c.evaluation_date = p_date and c.scenario = p_scenario
      and c.shards = p_shards and c.shard = p_shard  -- [sharded fan-out] the checkpoint key
      and c.slot = p_slot  -- [local time] the checkpoint key
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
      and m.id <= v_upper  -- [sharded fan-out] the walk's bound
      and (v_orgs is null or m.organisation_id = any (v_orgs))  -- [local time] the slot's mentors
    order by m.id
    limit p_limit
  ) b
  order by b.n desc
  limit 1;
  v_walked := coalesce(v_walked, 0);
  evaluated := 0;

  if v_walked > 0 then
    -- Evaluated: the batch's mentors of organisations where the scenario is enabled (the walk passes the
    -- others without evaluating them; before the source contract it counted them).
    select count(*)::integer into evaluated
    from scheduler_source.peer_mentors m
    where m.status = 'active' and m.id > v_after and m.id <= v_last
      and (v_orgs is null or m.organisation_id = any (v_orgs))  -- [local time]
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
        and (v_orgs is null or organisation_id = any (v_orgs))  -- [local time] the slot's organisations
      union all
      select * from scheduler.milestone_candidates(p_date, v_after, v_last) where p_scenario = 'milestone'
        and (v_orgs is null or organisation_id = any (v_orgs))  -- [local time]
      union all
      select * from scheduler.certification_candidates(p_date, v_after, v_last)
      where p_scenario = 'certification_expiry'
        and (v_orgs is null or organisation_id = any (v_orgs))  -- [local time]
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
    done := not exists (select 1 from scheduler_source.peer_mentors m where m.status = 'active' and m.id > v_last
                        and m.id <= v_upper  -- [sharded fan-out] the walk's bound
                        and (v_orgs is null or m.organisation_id = any (v_orgs)));  -- [local time]
  end if;

  if not p_dry_run then
    update scheduler.checkpoints c
    set cursor = next_cursor, done = evaluate_batch.done,
        evaluated = c.evaluated + evaluate_batch.evaluated, notified = c.notified + evaluate_batch.notified,
        batches = c.batches + 1, updated_at = now(),
        completed_at = case when evaluate_batch.done then now() end
    where c.evaluation_date = p_date and c.scenario = p_scenario
      and c.shards = p_shards and c.shard = p_shard  -- [sharded fan-out] the checkpoint key
      and c.slot = p_slot;  -- [local time] the checkpoint key
  end if;
  return next;
end
$$;

REVOKE ALL ON FUNCTION scheduler.evaluate_batch(p_run_id uuid, p_scenario text, p_date date, p_after uuid, p_limit integer, p_dry_run boolean, p_shard integer, p_shards integer, p_slot text) FROM PUBLIC;
GRANT ALL ON FUNCTION scheduler.evaluate_batch(p_run_id uuid, p_scenario text, p_date date, p_after uuid, p_limit integer, p_dry_run boolean, p_shard integer, p_shards integer, p_slot text) TO scenario_scheduler;
