-- Function scheduler.source_tables, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.source_tables(p_view regclass) RETURNS TABLE(base_table regclass)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  with recursive reads(rel) as (
    select p_view::oid
    union
    select d.refobjid
    from reads r
    join pg_catalog.pg_rewrite w on w.ev_class = r.rel
    join pg_catalog.pg_depend d on d.classid = 'pg_catalog.pg_rewrite'::regclass and d.objid = w.oid
                                and d.refclassid = 'pg_catalog.pg_class'::regclass and d.refobjid <> r.rel
  )
  select distinct r.rel::regclass
  from reads r join pg_catalog.pg_class c on c.oid = r.rel
  where c.relkind in ('r', 'p')
$$;

REVOKE ALL ON FUNCTION scheduler.source_tables(p_view regclass) FROM PUBLIC;
