-- Function scheduler.foreign_net_triggers, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.foreign_net_triggers() RETURNS text
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select pg_catalog.string_agg(pg_catalog.format('%s on %s', f.trigger_name, f.table_name), ', ' order by f.trigger_name)
  from scheduler.foreign_net_trigger_list() f
$$;

REVOKE ALL ON FUNCTION scheduler.foreign_net_triggers() FROM PUBLIC;
