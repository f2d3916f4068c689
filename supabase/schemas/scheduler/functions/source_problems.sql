-- Function scheduler.source_problems, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.source_problems() RETURNS SETOF text
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select case
           when a.attname is null and not exists (
             select 1 from pg_catalog.pg_class r
             where r.relnamespace = 'scheduler_source'::pg_catalog.regnamespace and r.relname = c.view_name)
             then pg_catalog.format('scheduler_source.%s is missing', c.view_name)
           when a.attname is null
             then pg_catalog.format('scheduler_source.%s has no column %s (%s)', c.view_name, c.column_name, c.type_name)
           else pg_catalog.format('scheduler_source.%s.%s is %s, want %s', c.view_name, c.column_name,
                                  pg_catalog.format_type(a.atttypid, a.atttypmod), c.type_name)
         end
  from scheduler.source_contract() c
  left join pg_catalog.pg_class r
    on r.relnamespace = 'scheduler_source'::pg_catalog.regnamespace and r.relname = c.view_name
  left join pg_catalog.pg_attribute a
    on a.attrelid = r.oid and a.attname = c.column_name and a.attnum > 0 and not a.attisdropped
  where a.attname is null or a.atttypid <> c.type_name
  -- One line for a missing view, not one per column.
  group by 1
  order by 1
$$;

REVOKE ALL ON FUNCTION scheduler.source_problems() FROM PUBLIC;
