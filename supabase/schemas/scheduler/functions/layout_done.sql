-- Function scheduler.layout_done, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.layout_done(p_date date, p_scenario text, p_slot text) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select exists (
    select 1 from scheduler.checkpoints c
    where c.evaluation_date = p_date and c.scenario = p_scenario and c.slot = p_slot
    group by c.shards
    having pg_catalog.count(*) filter (where c.done) = c.shards)
$$;

COMMENT ON FUNCTION scheduler.layout_done(p_date date, p_scenario text, p_slot text) IS 'Whether a scenario''s evaluation of a date is complete for a slot ('''': the whole project): every shard of one layout done.';

REVOKE ALL ON FUNCTION scheduler.layout_done(p_date date, p_scenario text, p_slot text) FROM PUBLIC;
