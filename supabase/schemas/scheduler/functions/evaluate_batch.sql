-- Function scheduler.evaluate_batch, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.evaluate_batch(p_run_id uuid, p_scenario text, p_date date, p_after uuid, p_limit integer, p_dry_run boolean, p_shard integer, p_shards integer, p_slot text) RETURNS TABLE(evaluated integer, candidates integer, notified integer, suppressed_cooldown integer, duplicates integer, conflicts integer, next_cursor uuid, done boolean)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    SET jit TO 'off'
    SET plan_cache_mode TO 'auto'
    AS $$
#variable_conflict use_column
-- Plans: every statement has one text. A full batch that keeps no state (a project without the change feed,
-- a dry run) plans as before the incremental run (plan_cache_mode auto: the SET clause, so that a caller's
-- setting does not change it). Forced generic plans guessed one row for `p_ids is null or ...` and counted
-- the batch's mentors with a loop over the configuration per mentor: the full batches took twice as long.
-- An incremental batch, or one that keeps the state, switches to force_custom_plan for its own statements
-- (below, restored at the function's end by the SET clause): planned with the batch's values, the ids become
-- index conditions and the state's part folds in.
declare
  v_after  uuid;    -- the walk starts after it: the cursor, or the shard's lower bound
  v_upper  uuid;    -- the shard's last id (inclusive)
  v_orgs   uuid[];  -- the slot's organisations (null: every organisation)
  v_last   uuid;    -- the batch's last mentor (null: nobody left)
  v_fresh  integer;  -- would fire, nudged group
  v_fresh_held integer;  -- would fire, held-out group
  v_held   integer;  -- recorded in held_out_nudges
  v_mode   text;    -- incremental or full (scheduler.state_mode), the checkpoint's once its first batch ran
  v_reason text;
  v_version bigint; -- the state version a full evaluation reconciles
  v_ids    uuid[];  -- an incremental batch: the due mentors it evaluates (null: every mentor of its range)
  v_repairs integer := 0;
  v_keep   boolean;  -- this batch writes the state (the feed is installed, not a dry run)
  v_reconciling boolean;  -- a full evaluation that counts the state's repairs
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

  -- The mode: the checkpoint's, decided at its first batch and kept to its end (across runs), so that one
  -- date's evaluation of a scenario and part is wholly incremental or wholly full.
  if not p_dry_run then
    select c.mode, c.mode_reason, c.config_version into v_mode, v_reason, v_version
    from scheduler.checkpoints c
    where c.evaluation_date = p_date and c.scenario = p_scenario
      and c.shards = p_shards and c.shard = p_shard and c.slot = p_slot;
  end if;
  if v_mode is null then
    select m.mode, m.reason, m.state_version into v_mode, v_reason, v_version
    from scheduler.state_mode(p_date, p_scenario, p_shard, p_shards, p_slot) m;
    if not p_dry_run then
      update scheduler.checkpoints c
      set mode = v_mode, mode_reason = v_reason, config_version = v_version
      where c.evaluation_date = p_date and c.scenario = p_scenario
        and c.shards = p_shards and c.shard = p_shard and c.slot = p_slot;
      if v_reason = 'no_feed' then
        -- Changes are not noted now: whatever state there is goes stale, so no part may trust it later.
        delete from scheduler.state_reconciliations;
      end if;
    end if;
  end if;
  -- The state is kept while the feed is installed, by the scenarios that have due dates (not in a dry run).
  v_keep := v_reason not in ('no_feed', 'no_due_rule') and not p_dry_run;
  v_reconciling := v_mode = 'full' and v_reason in ('reconcile_due', 'requested');
  if v_mode = 'incremental' or v_keep then
    -- SET LOCAL inside a function with a SET clause for it: restored when the function returns.
    perform pg_catalog.set_config('plan_cache_mode', 'force_custom_plan', true);
  end if;

  -- The batch: the first p_limit mentors of the walk after the cursor, which the rules read as one key range.
  -- In an incremental evaluation the first p_limit due ones (scheduler.due_mentors, one more to know whether
  -- any is left), which the same rules read as that range restricted to their ids. Planned with this
  -- batch's values (the date, the part's bounds), so that the state's next_due index is used; a generic plan
  -- cannot know how few mentors are due and would read the whole state at every batch.
  if v_mode = 'incremental' then
    select pg_catalog.array_agg(d.id order by d.id) into v_ids
    from scheduler.due_mentors(p_scenario, p_date, v_after, v_upper, v_orgs, p_limit + 1) d;
    done := coalesce(pg_catalog.array_length(v_ids, 1), 0) <= p_limit;
    v_ids := v_ids[1:p_limit];
    v_last := v_ids[pg_catalog.array_length(v_ids, 1)];
  else
    select b.id into v_last
    from (
      select w.id, row_number() over (order by w.id)::integer as n
      from scheduler.walk(v_after, v_upper, v_orgs) w
      order by w.id
      limit p_limit
    ) b
    order by b.n desc
    limit 1;
  end if;

  if v_last is null then
    evaluated := 0; candidates := 0; notified := 0; suppressed_cooldown := 0; duplicates := 0; conflicts := 0;
    next_cursor := p_after;
    done := true;
  else
    select pg_catalog.count(*)::integer into evaluated
    from scheduler.evaluated_mentors(p_scenario, v_after, v_last, v_orgs, v_ids);

    -- One statement: the batch's assessed rows (scheduler.classified_candidates), its notifications and
    -- held-out nudges, and, while the change feed is installed (v_keep), the incremental run's state of the
    -- mentors it evaluated: each one's due date for this scenario (the earliest of its rows'; never without a
    -- row), and the feed's rows of those mentors deleted at the change_seq read (a change noted meanwhile has
    -- a higher one and stays for the next run). A state row is written only where something moves (a new
    -- mentor, a due date that changed, a change read); a change read by one scenario makes the other
    -- scenarios' due dates p_date, so that they evaluate the mentor too, today or at their next run. An
    -- incremental batch's ids include mentors of the slot no longer active (a change noted): their change is
    -- read, and their due date set to never. A state written for a later date is left alone, and its feed row
    -- too (p_date is a backfill for it). Repairs (v_reconciling): mentors with no change noted whose stored
    -- due date was later than the one computed now, i.e. the state was wrong. Without the state (v_keep false)
    -- the state's steps read nothing: their conditions are one-time filters.
    with classified as (
      select * from scheduler.classified_candidates(p_scenario, p_date, v_after, v_last, v_orgs, v_ids, v_keep)
    ),
    ins as (
      insert into public.notifications (user_id, organisation_id, scenario, evaluation_date, idempotency_key,
                                        cooldown_period, priority, data, run_id)
      select c.user_id, c.organisation_id, p_scenario, p_date, c.idempotency_key,
             case when c.cooldown_days > 0 then pg_catalog.daterange(p_date, p_date + c.cooldown_days) end,
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
             case when c.cooldown_days > 0 then pg_catalog.daterange(p_date, p_date + c.cooldown_days) end,
             c.priority, c.data, p_run_id
      from classified c
      where not p_dry_run and c.state = 'held_out'
      on conflict do nothing
      returning 1
    ),
    evaluated as (
      select w.id from scheduler.walk(v_after, v_last, v_orgs) w where v_keep and v_ids is null
      union all
      -- An incremental batch's ids whatever their status (a paused mentor's change is read), in the slot.
      select m.id
      from scheduler.batch_mentors(v_after, v_last, v_ids) m
      where v_keep and v_ids is not null and (v_orgs is null or m.organisation_id = any (v_orgs))
    ),
    due as (
      -- Every evaluated mentor with the earliest due date of its rows (none: null). Grouped, not joined: the
      -- planner cannot know how many rows the classified CTE has, and joined a batch's mentors to them in a
      -- nested loop (1,189,287 comparisons for 1,793 mentors, 60 % of an incremental batch at 1M).
      select x.user_id, pg_catalog.min(x.due) as due
      from (select e.id as user_id, null::date as due, true as evaluated from evaluated e
            union all
            select c.user_id, c.due, false from classified c where v_keep) x
      group by x.user_id
      having pg_catalog.bool_or(x.evaluated)
    ),
    seen as (
      -- An activity dated ahead of the day (registered in advance) moves the inactivity spell and the count on
      -- its date: the mentor is due then at the latest (a lower bound; that evaluation sees the next one).
      select d.user_id, least(coalesce(d.due, 'infinity'::date), ahead.activity_date) as due, f.change_seq,
             coalesce(f.activities_only, false) as activities_only,
             s.user_id is not null as known,
             case p_scenario when 'inactivity' then s.inactivity_due
                     when 'milestone' then s.milestone_due
                     else s.certification_due end as stored
      from due d
      left join lateral (
        select pg_catalog.min(a.activity_date) as activity_date
        from scheduler_source.activities a
        where p_scenario in ('inactivity', 'milestone') and a.user_id = d.user_id and a.activity_date > p_date
      ) ahead on true
      -- A probe per mentor (offset 0: not a hash of the range's rows, which in an incremental batch are those
      -- of a range about twenty times the batch).
      left join lateral (select f.change_seq, f.activities_only
                         from scheduler.mentor_changes f where f.user_id = d.user_id offset 0) f on true
      left join lateral (select s.user_id, s.inactivity_due, s.milestone_due, s.certification_due, s.evaluated_on
                         from scheduler.mentor_state s where s.user_id = d.user_id offset 0) s on true
      where s.evaluated_on is null or s.evaluated_on <= p_date
      -- In id order, so that the state's rows are written (locked) in the same order by every scenario's batch
      -- that runs beside it (grouped, the rows came in hash order: two scenarios in parallel deadlocked).
      order by d.user_id
    ),
    consumed as (
      delete from scheduler.mentor_changes c
      using seen x
      where c.user_id = x.user_id and c.change_seq = x.change_seq
    ),
    written as (
      -- The other scenarios' columns: p_date for a new mentor or a change read (due now), 'infinity' otherwise
      -- (least() below keeps the stored date).
      insert into scheduler.mentor_state as s (user_id, inactivity_due, milestone_due, certification_due, evaluated_on)
      select x.user_id,
             case when p_scenario = 'inactivity' then x.due when x.known and x.change_seq is null then 'infinity' else p_date end,
             case when p_scenario = 'milestone' then x.due when x.known and x.change_seq is null then 'infinity' else p_date end,
             -- A change of activities only does not move the certification rule: its date stays.
             case when p_scenario = 'certification_expiry' then x.due
                  when x.known and (x.change_seq is null or x.activities_only) then 'infinity' else p_date end,
             p_date
      from seen x
      where not x.known or x.stored is distinct from x.due or x.change_seq is not null
      on conflict (user_id) do update
      set inactivity_due = case when p_scenario = 'inactivity' then excluded.inactivity_due
                                else least(s.inactivity_due, excluded.inactivity_due) end,
          milestone_due = case when p_scenario = 'milestone' then excluded.milestone_due
                               else least(s.milestone_due, excluded.milestone_due) end,
          certification_due = case when p_scenario = 'certification_expiry' then excluded.certification_due
                                   else least(s.certification_due, excluded.certification_due) end,
          evaluated_on = excluded.evaluated_on
      where s.evaluated_on <= excluded.evaluated_on
    )
    select (pg_catalog.count(*) filter (where c.state <> 'idle'))::integer,
           (pg_catalog.count(*) filter (where c.state = 'already_sent'))::integer,
           (pg_catalog.count(*) filter (where c.state = 'cooldown'))::integer,
           (pg_catalog.count(*) filter (where c.state = 'would_fire'))::integer,
           (pg_catalog.count(*) filter (where c.state = 'held_out'))::integer,
           (select pg_catalog.count(*) from ins)::integer,
           (select pg_catalog.count(*) from held)::integer,
           (select (pg_catalog.count(*) filter (where v_reconciling and x.known and x.change_seq is null and x.stored > x.due))::integer
            from seen x)
    from classified c
    into candidates, duplicates, suppressed_cooldown, v_fresh, v_fresh_held, notified, v_held, v_repairs;

    if p_dry_run then
      notified := v_fresh;
      v_held := v_fresh_held;
    end if;
    -- Both groups' conflicts: the held-out count is candidates - duplicates - suppressed_cooldown - notified -
    -- conflicts (the store derives it so; the result's columns stay those the function of the last release reads).
    conflicts := v_fresh - notified + v_fresh_held - v_held;
    next_cursor := v_last;
    if v_mode is distinct from 'incremental' then
      done := not exists (select 1 from scheduler.walk(v_last, v_upper, v_orgs));
    end if;
  end if;

  if not p_dry_run then
    update scheduler.checkpoints c
    set cursor = next_cursor, done = evaluate_batch.done,
        evaluated = c.evaluated + evaluate_batch.evaluated, notified = c.notified + evaluate_batch.notified,
        batches = c.batches + 1, updated_at = now(),
        completed_at = case when evaluate_batch.done then now() end,
        state_repairs = c.state_repairs + v_repairs
    where c.evaluation_date = p_date and c.scenario = p_scenario
      and c.shards = p_shards and c.shard = p_shard and c.slot = p_slot;
    -- A full evaluation of every mentor of the part, to its end, under one state version: the state of this
    -- scenario and part is reconciled, and the next dates may run incremental.
    if evaluate_batch.done and v_mode = 'full' and v_keep then
      insert into scheduler.state_reconciliations as r (scenario, slot, shards, shard, reconciled_on, state_version)
      values (p_scenario, p_slot, p_shards, p_shard, p_date, v_version)
      on conflict (scenario, slot, shards, shard) do update
      set reconciled_on = greatest(r.reconciled_on, excluded.reconciled_on),
          state_version = greatest(r.state_version, excluded.state_version), reconciled_at = now();
    end if;
  end if;
  return next;
end
$$;

REVOKE ALL ON FUNCTION scheduler.evaluate_batch(p_run_id uuid, p_scenario text, p_date date, p_after uuid, p_limit integer, p_dry_run boolean, p_shard integer, p_shards integer, p_slot text) FROM PUBLIC;
GRANT ALL ON FUNCTION scheduler.evaluate_batch(p_run_id uuid, p_scenario text, p_date date, p_after uuid, p_limit integer, p_dry_run boolean, p_shard integer, p_shards integer, p_slot text) TO scenario_scheduler;
