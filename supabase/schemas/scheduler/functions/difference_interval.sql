-- Function scheduler.difference_interval, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.difference_interval(p_hits1 bigint, p_n1 bigint, p_hits2 bigint, p_n2 bigint) RETURNS TABLE(difference double precision, lower double precision, upper double precision)
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  -- p1 - p2 with Newcombe's hybrid score interval (his method 10, 1998): from the two Wilson intervals
  -- (l1, u1), (l2, u2): lower = d - pg_catalog.sqrt((p1 - l1)^2 + (u2 - p2)^2), upper = d + pg_catalog.sqrt((u1 - p1)^2 + (p2 - l2)^2).
  -- Chosen over Wald's because it keeps its coverage for small groups and proportions near 0 or 1, which a
  -- holdout of a few percent gives; null when a group is empty.
  select x.p1 - x.p2,
         x.p1 - x.p2 - pg_catalog.sqrt((x.p1 - w1.lower) ^ 2 + (w2.upper - x.p2) ^ 2),
         x.p1 - x.p2 + pg_catalog.sqrt((w1.upper - x.p1) ^ 2 + (x.p2 - w2.lower) ^ 2)
  from (select p_hits1::double precision / p_n1 as p1, p_hits2::double precision / p_n2 as p2
        where p_n1 > 0 and p_n2 > 0) x
  cross join scheduler.wilson_interval(p_hits1, p_n1) w1
  cross join scheduler.wilson_interval(p_hits2, p_n2) w2
$$;

COMMENT ON FUNCTION scheduler.difference_interval(p_hits1 bigint, p_n1 bigint, p_hits2 bigint, p_n2 bigint) IS 'Difference of two proportions with its 95 % Newcombe (hybrid score) interval, for scheduler.effectiveness.';

REVOKE ALL ON FUNCTION scheduler.difference_interval(p_hits1 bigint, p_n1 bigint, p_hits2 bigint, p_n2 bigint) FROM PUBLIC;
