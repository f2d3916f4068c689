-- Function scheduler.claim_checkpoint, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.claim_checkpoint(p_run_id uuid, p_date date, p_scenario text, p_lease_ms integer, p_shard integer, p_shards integer, p_slot text) RETURNS TABLE(outcome text, cursor uuid, evaluated integer, notified integer, shards integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform scheduler.check_date('claim_checkpoint', p_date);
  perform scheduler.check_scenario('claim_checkpoint', p_scenario);
  perform scheduler.check_range('claim_checkpoint: lease_ms', p_lease_ms, 0, 3600000);
  perform scheduler.check_shard('claim_checkpoint', p_shard, p_shards);
  perform scheduler.check_slot('claim_checkpoint', p_slot);  -- [local time]
  return query select * from scheduler.claim_checkpoint_unchecked(p_run_id, p_date, p_scenario, p_lease_ms,
                                                                  p_shard, p_shards, p_slot);
end
$$;

REVOKE ALL ON FUNCTION scheduler.claim_checkpoint(p_run_id uuid, p_date date, p_scenario text, p_lease_ms integer, p_shard integer, p_shards integer, p_slot text) FROM PUBLIC;
GRANT ALL ON FUNCTION scheduler.claim_checkpoint(p_run_id uuid, p_date date, p_scenario text, p_lease_ms integer, p_shard integer, p_shards integer, p_slot text) TO scenario_scheduler;
