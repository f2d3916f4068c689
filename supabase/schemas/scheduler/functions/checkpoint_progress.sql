-- Function scheduler.checkpoint_progress, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.checkpoint_progress(p_date date, p_scenario text, p_shard integer, p_shards integer, p_slot text) RETURNS TABLE(cursor uuid, evaluated integer, notified integer, done boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform scheduler.check_shard('checkpoint_progress', p_shard, p_shards);
  perform scheduler.check_slot('checkpoint_progress', p_slot);  -- [local time]
  return query
  select c.cursor, c.evaluated, c.notified, c.done
  from scheduler.checkpoints c
  where c.evaluation_date = p_date and c.scenario = p_scenario and c.slot = p_slot  -- [local time]
    and c.shards = p_shards and c.shard = p_shard;
end
$$;

COMMENT ON FUNCTION scheduler.checkpoint_progress(p_date date, p_scenario text, p_shard integer, p_shards integer, p_slot text) IS 'A slot''s shard''s checkpoint: cursor, counts and done flag, read without taking its lease (no row: nothing done yet).';

REVOKE ALL ON FUNCTION scheduler.checkpoint_progress(p_date date, p_scenario text, p_shard integer, p_shards integer, p_slot text) FROM PUBLIC;
GRANT ALL ON FUNCTION scheduler.checkpoint_progress(p_date date, p_scenario text, p_shard integer, p_shards integer, p_slot text) TO scenario_scheduler;
