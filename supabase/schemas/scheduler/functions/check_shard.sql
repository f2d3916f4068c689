-- Function scheduler.check_shard, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.check_shard(p_what text, p_shard integer, p_shards integer) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
begin
  if p_shards is null or p_shards < 1 or p_shards > 64 or p_shard is null or p_shard < 1 or p_shard > p_shards then
    raise exception using errcode = '22023',
      message = pg_catalog.format('%s: shard must be k of N with 1 <= k <= N <= 64, got %s of %s',
                                  p_what, coalesce(p_shard::text, 'null'), coalesce(p_shards::text, 'null'));
  end if;
end
$$;

REVOKE ALL ON FUNCTION scheduler.check_shard(p_what text, p_shard integer, p_shards integer) FROM PUBLIC;
