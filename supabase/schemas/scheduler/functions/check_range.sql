-- Function scheduler.check_range, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.check_range(p_what text, p_value bigint, p_min bigint, p_max bigint) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
begin
  if p_value is null or p_value < p_min or p_value > p_max then
    raise exception using errcode = '22023',
      message = pg_catalog.format('%s must be between %s and %s, got %s', p_what, p_min, p_max, coalesce(p_value::text, 'null'));
  end if;
end
$$;

REVOKE ALL ON FUNCTION scheduler.check_range(p_what text, p_value bigint, p_min bigint, p_max bigint) FROM PUBLIC;
