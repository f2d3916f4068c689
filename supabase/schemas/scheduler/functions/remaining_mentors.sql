-- Function scheduler.remaining_mentors, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.remaining_mentors(p_after uuid, p_shard integer, p_shards integer, p_slot text) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  b      record;
  n      bigint;
  v_orgs uuid[];
begin
  perform scheduler.check_slot('remaining_mentors', p_slot);
  select * into b from scheduler.shard_bounds(p_shard, p_shards);
  v_orgs := scheduler.slot_organisations(p_slot);  -- [local time] null: every organisation
  select pg_catalog.count(*) into n from scheduler_source.peer_mentors m
  where m.status = 'active' and m.id > coalesce(p_after, b.lower) and m.id <= b.upper
    and (v_orgs is null or m.organisation_id = any (v_orgs));  -- [local time]
  return n;
end
$$;

REVOKE ALL ON FUNCTION scheduler.remaining_mentors(p_after uuid, p_shard integer, p_shards integer, p_slot text) FROM PUBLIC;
GRANT ALL ON FUNCTION scheduler.remaining_mentors(p_after uuid, p_shard integer, p_shards integer, p_slot text) TO scenario_scheduler;
