-- Function scheduler.invoke_command, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.invoke_command(p_job text, p_shards integer) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
begin
  if p_shards is null or p_shards < 1 or p_shards > 64 then
    raise exception 'shards must be between 1 and 64, got %', coalesce(p_shards::text, 'null') using errcode = '22023';
  end if;
  if p_shards = 1 then
    return pg_catalog.format('select scheduler.invoke(null, %L)', p_job);
  end if;
  return pg_catalog.format('select scheduler.invoke(null, %L, false, %s)', p_job, p_shards);
end
$$;

REVOKE ALL ON FUNCTION scheduler.invoke_command(p_job text, p_shards integer) FROM PUBLIC;
