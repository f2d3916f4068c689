-- Function scheduler.wilson_interval, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.wilson_interval(p_hits bigint, p_n bigint) RETURNS TABLE(lower double precision, upper double precision)
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  -- Wilson's score interval (95 %, z = 1.959964) of the proportion p_hits / p_n; null for an empty group.
  select (p + z * z / (2 * n) - z * pg_catalog.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n),
         (p + z * z / (2 * n) + z * pg_catalog.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)
  from (select p_hits::double precision / p_n as p, p_n::double precision as n, 1.959964::double precision as z
        where p_n > 0) x
$$;

COMMENT ON FUNCTION scheduler.wilson_interval(p_hits bigint, p_n bigint) IS 'Wilson score interval (95 %) of a proportion: the parts of the Newcombe interval of scheduler.effectiveness.';

REVOKE ALL ON FUNCTION scheduler.wilson_interval(p_hits bigint, p_n bigint) FROM PUBLIC;
