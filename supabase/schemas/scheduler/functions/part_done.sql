-- Function scheduler.part_done, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.part_done(p_date date, p_slot text, p_scenarios text[]) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  -- As scheduler.slot_done, for the scenarios a request named (null: every enabled one). A scenario disabled
  -- since is not waited for: the function would not evaluate it.
  select not exists (
    select 1 from scheduler.enabled_scenarios() e
    where (p_scenarios is null or e.scenario = any (p_scenarios))
      and not scheduler.layout_done(p_date, e.scenario, '')
      and not scheduler.layout_done(p_date, e.scenario, p_slot))
$$;

COMMENT ON FUNCTION scheduler.part_done(p_date date, p_slot text, p_scenarios text[]) IS 'Whether a date is complete for a slot ('''': the whole project) and the scenarios a request named (null: every enabled scenario), in any shard layout.';

REVOKE ALL ON FUNCTION scheduler.part_done(p_date date, p_slot text, p_scenarios text[]) FROM PUBLIC;
