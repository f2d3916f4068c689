-- Function scheduler.slot_done, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.slot_done(p_date date, p_slot text) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select not exists (
    select 1 from scheduler.enabled_scenarios() e
    where not scheduler.layout_done(p_date, e.scenario, '')
      and not scheduler.layout_done(p_date, e.scenario, p_slot))
$$;

REVOKE ALL ON FUNCTION scheduler.slot_done(p_date date, p_slot text) FROM PUBLIC;
