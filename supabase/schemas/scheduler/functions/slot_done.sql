-- Function scheduler.slot_done, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.slot_done(p_date date, p_slot text) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select not exists (
    select 1 from scheduler.enabled_scenarios() e
    where not exists (
      select 1 from scheduler.checkpoints c
      where c.evaluation_date = p_date and c.scenario = e.scenario and c.slot in ('', p_slot)
      group by c.slot, c.shards
      having pg_catalog.count(*) filter (where c.done) = c.shards))
$$;

REVOKE ALL ON FUNCTION scheduler.slot_done(p_date date, p_slot text) FROM PUBLIC;
