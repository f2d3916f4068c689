-- Function scheduler.claim_checkpoint_unchecked, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.claim_checkpoint_unchecked(p_run_id uuid, p_date date, p_scenario text, p_lease_ms integer, p_shard integer, p_shards integer, p_slot text) RETURNS TABLE(outcome text, cursor uuid, evaluated integer, notified integer, shards integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
#variable_conflict use_column
declare
  cp      scheduler.checkpoints;
  v_other record;
begin
  -- One layout per date, scenario and slot. [local time]
  perform pg_catalog.pg_advisory_xact_lock(
    pg_catalog.hashtextextended('scheduler.checkpoints ' || p_date::text || ' ' || p_scenario
                                || case when p_slot = '' then '' else ' ' || p_slot end, 0));
  -- A slot's date that a whole-project run has completed is done for the slot too: the whole project
  -- evaluated the slot's organisations already (the hourly job's due_slots reads it the same way).
  if p_slot <> '' and scheduler.layout_done(p_date, p_scenario, '') then
    outcome := 'done';
    evaluated := 0;
    notified := 0;
    shards := p_shards;
    return next;
    return;
  end if;
  select c.shards as n, pg_catalog.count(*) filter (where c.done) as done_rows,
         coalesce(pg_catalog.sum(c.evaluated), 0)::integer as evaluated,
         coalesce(pg_catalog.sum(c.notified), 0)::integer as notified
  into v_other
  from scheduler.checkpoints c
  where c.evaluation_date = p_date and c.scenario = p_scenario and c.slot = p_slot  -- [local time]
    and c.shards <> p_shards
  group by c.shards
  limit 1;
  if found then
    outcome := case when v_other.done_rows = v_other.n then 'done' else 'layout' end;
    evaluated := v_other.evaluated;
    notified := v_other.notified;
    shards := v_other.n;
    return next;
    return;
  end if;

  insert into scheduler.checkpoints (evaluation_date, scenario, slot, shard, shards)  -- [local time]
  select p_date, p_scenario, p_slot, g, p_shards from pg_catalog.generate_series(1, p_shards) g
  on conflict do nothing;
  select * into cp from scheduler.checkpoints c
  where c.evaluation_date = p_date and c.scenario = p_scenario and c.slot = p_slot  -- [local time]
    and c.shards = p_shards and c.shard = p_shard
  for update;

  if cp.done then
    outcome := 'done';
  elsif cp.lease_owner is not null and cp.lease_owner <> p_run_id and cp.lease_until > pg_catalog.clock_timestamp() then
    outcome := 'busy';
  else
    update scheduler.checkpoints c
    set lease_owner = p_run_id,
        lease_until = pg_catalog.clock_timestamp() + pg_catalog.make_interval(secs => p_lease_ms / 1000.0),
        updated_at = pg_catalog.now()
    where c.evaluation_date = p_date and c.scenario = p_scenario and c.slot = p_slot  -- [local time]
      and c.shards = p_shards and c.shard = p_shard;
    outcome := 'claimed';
  end if;
  cursor := cp.cursor;
  evaluated := cp.evaluated;
  notified := cp.notified;
  shards := p_shards;
  return next;
end
$$;

REVOKE ALL ON FUNCTION scheduler.claim_checkpoint_unchecked(p_run_id uuid, p_date date, p_scenario text, p_lease_ms integer, p_shard integer, p_shards integer, p_slot text) FROM PUBLIC;
