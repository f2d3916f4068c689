-- Function scheduler.release_checkpoint, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.release_checkpoint(p_run_id uuid, p_date date, p_scenario text, p_shard integer, p_shards integer, p_slot text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform scheduler.check_date('release_checkpoint', p_date);
  perform scheduler.check_scenario('release_checkpoint', p_scenario);
  perform scheduler.check_shard('release_checkpoint', p_shard, p_shards);
  perform scheduler.check_slot('release_checkpoint', p_slot);  -- [local time]
  update scheduler.checkpoints c
  set lease_owner = null, lease_until = null, updated_at = pg_catalog.now()
  where c.evaluation_date = p_date and c.scenario = p_scenario and c.slot = p_slot  -- [local time]
    and c.shards = p_shards and c.shard = p_shard and c.lease_owner = p_run_id;
end
$$;

REVOKE ALL ON FUNCTION scheduler.release_checkpoint(p_run_id uuid, p_date date, p_scenario text, p_shard integer, p_shards integer, p_slot text) FROM PUBLIC;
GRANT ALL ON FUNCTION scheduler.release_checkpoint(p_run_id uuid, p_date date, p_scenario text, p_shard integer, p_shards integer, p_slot text) TO scenario_scheduler;
