-- Function scheduler.ensure_net_guard, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.ensure_net_guard() RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  t regclass;
  n integer := 0;
begin
  foreach t in array array[pg_catalog.to_regclass('net.http_request_queue'), pg_catalog.to_regclass('net._http_response')] loop
    continue when t is null;
    if not exists (select 1 from pg_catalog.pg_trigger g where g.tgrelid = t and g.tgname = 'scheduler_guard') then
      execute pg_catalog.format('create trigger scheduler_guard before insert or update or delete on %s
                                 for each row execute function scheduler.net_guard()', t);
      n := n + 1;
    end if;
    if not exists (select 1 from pg_catalog.pg_trigger g where g.tgrelid = t and g.tgname = 'scheduler_guard_truncate') then
      execute pg_catalog.format('create trigger scheduler_guard_truncate before truncate on %s
                                 for each statement execute function scheduler.net_guard()', t);
      n := n + 1;
    end if;
  end loop;
  return n;
end
$$;

COMMENT ON FUNCTION scheduler.ensure_net_guard() IS 'Creates the scheduler''s guard triggers on pg_net''s tables where missing; returns how many it created.';

REVOKE ALL ON FUNCTION scheduler.ensure_net_guard() FROM PUBLIC;
