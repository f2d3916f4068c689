-- Function scheduler.scenario_set, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.scenario_set(p_scenarios jsonb) RETURNS text[]
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  -- A request's scenarios as a set (sorted, once each), null for "every enabled scenario": a run records
  -- them as JSON (null, absent or []), an invocation as text[] (null); both must compare equal.
  select case when p_scenarios is null or pg_catalog.jsonb_typeof(p_scenarios) <> 'array'
                   or pg_catalog.jsonb_array_length(p_scenarios) = 0 then null
              else array(select distinct e from pg_catalog.jsonb_array_elements_text(p_scenarios) e order by e) end
$$;

COMMENT ON FUNCTION scheduler.scenario_set(p_scenarios jsonb) IS 'A request''s scenarios (JSON) as a sorted set; null for every enabled scenario.';

REVOKE ALL ON FUNCTION scheduler.scenario_set(p_scenarios jsonb) FROM PUBLIC;
