-- Function scheduler.slot_organisations, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.slot_organisations(p_slot text) RETURNS uuid[]
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select case when p_slot = '' then null
              else coalesce((select pg_catalog.array_agg(s.organisation_id) from scheduler.organisation_slots() s
                             where s.slot = p_slot), '{}') end
$$;

REVOKE ALL ON FUNCTION scheduler.slot_organisations(p_slot text) FROM PUBLIC;
