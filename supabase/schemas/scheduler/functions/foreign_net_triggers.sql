-- Function scheduler.foreign_net_triggers, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.foreign_net_triggers() RETURNS text
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select pg_catalog.string_agg(pg_catalog.format('%I on %s', g.tgname, g.tgrelid::regclass), ', ' order by g.tgname)
  from pg_catalog.pg_trigger g
  where g.tgrelid in (pg_catalog.to_regclass('net.http_request_queue'), pg_catalog.to_regclass('net._http_response'))
    and not g.tgisinternal
    and not (g.tgname in ('scheduler_guard', 'scheduler_guard_truncate')
             and g.tgfoid = 'scheduler.net_guard()'::pg_catalog.regprocedure)
$$;

REVOKE ALL ON FUNCTION scheduler.foreign_net_triggers() FROM PUBLIC;
