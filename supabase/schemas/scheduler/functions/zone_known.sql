-- Function scheduler.zone_known, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.zone_known(p_zone text) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  if p_zone is null or p_zone = '' then
    return false;
  end if;
  perform pg_catalog.now() at time zone p_zone;
  return true;
exception when invalid_parameter_value then
  return false;
end
$$;

REVOKE ALL ON FUNCTION scheduler.zone_known(p_zone text) FROM PUBLIC;
