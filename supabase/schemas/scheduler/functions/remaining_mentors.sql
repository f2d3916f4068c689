-- Function scheduler.remaining_mentors, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.remaining_mentors(p_after uuid, p_shard integer, p_shards integer, p_slot text) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_after uuid;
  v_upper uuid;
  n       bigint;
begin
  perform scheduler.check_slot('remaining_mentors', p_slot);
  select coalesce(p_after, b.lower), b.upper into v_after, v_upper from scheduler.shard_bounds(p_shard, p_shards) b;
  select pg_catalog.count(*) into n from scheduler.walk(v_after, v_upper, scheduler.slot_organisations(p_slot)) w;
  return n;
end
$$;

REVOKE ALL ON FUNCTION scheduler.remaining_mentors(p_after uuid, p_shard integer, p_shards integer, p_slot text) FROM PUBLIC;
GRANT ALL ON FUNCTION scheduler.remaining_mentors(p_after uuid, p_shard integer, p_shards integer, p_slot text) TO scenario_scheduler;
