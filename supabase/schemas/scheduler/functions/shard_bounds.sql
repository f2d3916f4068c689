-- Function scheduler.shard_bounds, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.shard_bounds(p_shard integer, p_shards integer) RETURNS TABLE(lower uuid, upper uuid)
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
begin
  perform scheduler.check_shard('shard_bounds', p_shard, p_shards);
  lower := (pg_catalog.lpad(pg_catalog.to_hex(((p_shard - 1)::bigint << 32) / p_shards), 8, '0')
            || '-0000-0000-0000-000000000000')::uuid;
  if p_shard = p_shards then
    upper := 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid;
  else
    upper := (pg_catalog.lpad(pg_catalog.to_hex((p_shard::bigint << 32) / p_shards), 8, '0')
              || '-0000-0000-0000-000000000000')::uuid;
  end if;
  return next;
end
$$;

COMMENT ON FUNCTION scheduler.shard_bounds(p_shard integer, p_shards integer) IS 'The mentor ids of shard k of N: (lower, upper], equal slices of the uuid space on its first 32 bits.';

REVOKE ALL ON FUNCTION scheduler.shard_bounds(p_shard integer, p_shards integer) FROM PUBLIC;
