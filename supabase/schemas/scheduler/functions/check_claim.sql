-- Function scheduler.check_claim, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.check_claim(p_run_id uuid, p_date date, p_scenario text, p_shard integer, p_shards integer, p_slot text, p_cursor uuid) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  cp scheduler.checkpoints;
begin
  select * into cp from scheduler.checkpoints c
  where c.evaluation_date = p_date and c.scenario = p_scenario and c.slot = p_slot
    and c.shards = p_shards and c.shard = p_shard
  for update;
  if not found or cp.lease_owner is distinct from p_run_id then
    raise exception using errcode = 'SC409', message = 'checkpoint lease is not held by this run';
  end if;
  if cp.cursor is distinct from p_cursor or cp.done then
    raise exception using errcode = 'SC409', message = 'checkpoint moved since it was claimed';
  end if;
end
$$;

REVOKE ALL ON FUNCTION scheduler.check_claim(p_run_id uuid, p_date date, p_scenario text, p_shard integer, p_shards integer, p_slot text, p_cursor uuid) FROM PUBLIC;
