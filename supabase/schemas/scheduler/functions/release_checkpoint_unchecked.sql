-- Function scheduler.release_checkpoint_unchecked, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.release_checkpoint_unchecked(p_run_id uuid, p_date date, p_scenario text) RETURNS void
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
  update scheduler.checkpoints c
  set lease_owner = null, lease_until = null, updated_at = pg_catalog.now()
  where c.evaluation_date = p_date and c.scenario = p_scenario and c.slot = '' and c.shards = 1 and c.shard = 1
    and c.lease_owner = p_run_id
$$;

REVOKE ALL ON FUNCTION scheduler.release_checkpoint_unchecked(p_run_id uuid, p_date date, p_scenario text) FROM PUBLIC;
