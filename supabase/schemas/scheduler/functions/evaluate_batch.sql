-- Function scheduler.evaluate_batch, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.evaluate_batch(p_run_id uuid, p_scenario text, p_date date, p_after uuid, p_limit integer, p_dry_run boolean, p_shard integer, p_shards integer, p_slot text) RETURNS TABLE(evaluated integer, candidates integer, notified integer, suppressed_cooldown integer, duplicates integer, conflicts integer, next_cursor uuid, done boolean)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
#variable_conflict use_column
declare
  v_after  uuid;    -- the walk starts after it: the cursor, or the shard's lower bound
  v_upper  uuid;    -- the shard's last id (inclusive)
  v_orgs   uuid[];  -- the slot's organisations (null: every organisation)
  v_last   uuid;    -- the batch's last mentor (null: nobody left)
  v_fresh  integer;  -- would fire, nudged group
  v_fresh_held integer;  -- would fire, held-out group
  v_held   integer;  -- recorded in held_out_nudges
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
    ),
    -- The control group: the same row, recorded as would-have-been-nudged; no notification, so no push.
    held as (
      insert into scheduler.held_out_nudges (user_id, organisation_id, scenario, evaluation_date, idempotency_key,
                                             cooldown_period, priority, data, run_id)
      select c.user_id, c.organisation_id, p_scenario, p_date, c.idempotency_key,
             case when c.cooldown_days > 0 then daterange(p_date, p_date + c.cooldown_days) end,
             c.priority, c.data, p_run_id
      from classified c
      where not p_dry_run and c.state = 'held_out'
      on conflict do nothing
      returning 1
    )
    select count(*)::integer,
           (count(*) filter (where c.state = 'already_sent'))::integer,
           (count(*) filter (where c.state = 'cooldown'))::integer,
           (count(*) filter (where c.state = 'would_fire'))::integer,
           (count(*) filter (where c.state = 'held_out'))::integer,
           (select count(*) from ins)::integer,
           (select count(*) from held)::integer
    into candidates, duplicates, suppressed_cooldown, v_fresh, v_fresh_held, notified, v_held
    from classified c;

    if p_dry_run then
      notified := v_fresh;
      v_held := v_fresh_held;
    end if;
    -- Both groups' conflicts: the held-out count is candidates - duplicates - suppressed_cooldown - notified -
    -- conflicts (the store derives it so; the result's columns stay those the function of the last release reads).
    conflicts := v_fresh - notified + v_fresh_held - v_held;
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

REVOKE ALL ON FUNCTION scheduler.evaluate_batch(p_run_id uuid, p_scenario text, p_date date, p_after uuid, p_limit integer, p_dry_run boolean, p_shard integer, p_shards integer, p_slot text) FROM PUBLIC;
GRANT ALL ON FUNCTION scheduler.evaluate_batch(p_run_id uuid, p_scenario text, p_date date, p_after uuid, p_limit integer, p_dry_run boolean, p_shard integer, p_shards integer, p_slot text) TO scenario_scheduler;
