-- Function scheduler.foreign_net_trigger_list, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.foreign_net_trigger_list() RETURNS TABLE(table_name text, trigger_name text, function_name text, owner text)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  -- The catalog records no trigger's creator: the owner named is the table's, the role that can drop it
  -- (on hosted Supabase the platform's administrator, not postgres).
  select g.tgrelid::regclass::text, pg_catalog.quote_ident(g.tgname), g.tgfoid::regprocedure::text,
         pg_catalog.pg_get_userbyid(c.relowner)::text
  from pg_catalog.pg_trigger g
  join pg_catalog.pg_class c on c.oid = g.tgrelid
  where g.tgrelid in (pg_catalog.to_regclass('net.http_request_queue'), pg_catalog.to_regclass('net._http_response'))
    and not g.tgisinternal
    and not (g.tgname in ('scheduler_guard', 'scheduler_guard_truncate')
             and g.tgfoid = 'scheduler.net_guard()'::pg_catalog.regprocedure)
  order by 2, 1
$$;

COMMENT ON FUNCTION scheduler.foreign_net_trigger_list() IS 'The triggers on pg_net''s tables other than the scheduler''s guards, with their function and the table''s owner (who alone can drop them).';

REVOKE ALL ON FUNCTION scheduler.foreign_net_trigger_list() FROM PUBLIC;
