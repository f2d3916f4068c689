-- Function scheduler.zone_known, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.zone_known(p_zone text) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $_$
begin
  if p_zone is null or p_zone = '' then
    return false;
  end if;
  -- Only the zones of places, as the function accepts them in a slot (engine.ParseSlot): "UTC" or an
  -- "<Area>/<Location>" name. tzdata's pseudo-zones (Factory, posixrules, localtime), the posix/ and right/
  -- copies and the legacy aliases (CET, US/Eastern) load here too, but the function would refuse their slot.
  if p_zone <> 'UTC'
     and p_zone !~ '^(Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific|Etc)/[^/]+(/[^/]+)?$' then
    return false;
  end if;
  perform pg_catalog.now() at time zone p_zone;
  return true;
exception when invalid_parameter_value then
  return false;
end
$_$;

REVOKE ALL ON FUNCTION scheduler.zone_known(p_zone text) FROM PUBLIC;
