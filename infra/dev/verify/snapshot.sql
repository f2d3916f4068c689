-- A text snapshot of everything the migrations define, one line per fact, free of OIDs and timestamps:
-- two databases with the same lines have the same schema. Used by the "migrations applied twice" check.
-- Privileges are compared as effective privileges (a null ACL is the owner's default), so granting and
-- revoking back to the default changes nothing.
with nsp as (
  select oid, nspname from pg_catalog.pg_namespace
  where nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
    and nspname not like 'pg_temp_%' and nspname not like 'pg_toast_temp_%'
)
select line from (
  select 'schema ' || n.nspname || ' acl=' || coalesce(array_to_string(array(select unnest(coalesce(ns.nspacl, acldefault('n', ns.nspowner)))::text order by 1), ','), '')
         || ' comment=' || coalesce(obj_description(n.oid, 'pg_namespace'), '') as line
  from nsp n join pg_catalog.pg_namespace ns on ns.oid = n.oid
  union all
  select 'extension ' || e.extname || ' ' || e.extversion || ' in ' || e.extnamespace::regnamespace::text
  from pg_catalog.pg_extension e
  union all
  select 'relation ' || c.oid::regclass::text || ' kind=' || c.relkind::text || ' rls=' || c.relrowsecurity
         || ' force_rls=' || c.relforcerowsecurity
         || ' acl=' || coalesce(array_to_string(array(select unnest(coalesce(c.relacl, acldefault(case when c.relkind = 'S' then 's' else 'r' end::"char", c.relowner)))::text order by 1), ','), '')
         || ' comment=' || coalesce(obj_description(c.oid, 'pg_class'), '')
  from pg_catalog.pg_class c join nsp n on n.oid = c.relnamespace
  where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
  union all
  select 'column ' || c.oid::regclass::text || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
         || case when a.attnotnull then ' not null' else '' end
         || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
         || case when a.attidentity <> '' then ' identity ' || a.attidentity::text else '' end
  from pg_catalog.pg_attribute a
  join pg_catalog.pg_class c on c.oid = a.attrelid
  join nsp n on n.oid = c.relnamespace
  left join pg_catalog.pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
  where a.attnum > 0 and not a.attisdropped and c.relkind in ('r', 'p', 'v', 'm', 'f')
  union all
  select 'constraint ' || co.conrelid::regclass::text || ' ' || co.conname || ' ' || pg_get_constraintdef(co.oid)
  from pg_catalog.pg_constraint co join nsp n on n.oid = co.connamespace
  where co.conrelid <> 0
  union all
  select 'index ' || i.schemaname || '.' || i.indexname || ' ' || i.indexdef
  from pg_catalog.pg_indexes i join nsp n on n.nspname = i.schemaname
  union all
  select 'function ' || p.oid::regprocedure::text || ' returns ' || pg_get_function_result(p.oid)
         || ' lang=' || l.lanname || ' volatile=' || p.provolatile::text || ' secdef=' || p.prosecdef
         || ' config=' || coalesce(array_to_string(p.proconfig, ','), '')
         || ' acl=' || coalesce(array_to_string(array(select unnest(coalesce(p.proacl, acldefault('f', p.proowner)))::text order by 1), ','), '')
         || ' body=' || md5(coalesce(p.prosrc, ''))
  from pg_catalog.pg_proc p
  join nsp n on n.oid = p.pronamespace
  join pg_catalog.pg_language l on l.oid = p.prolang
  -- Functions that belong to an extension are the extension's (its version is recorded above).
  where not exists (select 1 from pg_catalog.pg_depend dep
                    where dep.classid = 'pg_proc'::regclass and dep.objid = p.oid and dep.deptype = 'e')
  union all
  select 'policy ' || po.schemaname || '.' || po.tablename || ' ' || po.policyname || ' ' || po.cmd
         || ' to ' || array_to_string(po.roles, ',') || ' using ' || coalesce(po.qual, '')
         || ' check ' || coalesce(po.with_check, '')
  from pg_catalog.pg_policies po
  union all
  select 'trigger ' || pg_get_triggerdef(tg.oid)
  from pg_catalog.pg_trigger tg join pg_catalog.pg_class c on c.oid = tg.tgrelid join nsp n on n.oid = c.relnamespace
  where not tg.tgisinternal
  union all
  select 'default privileges ' || coalesce(da.defaclnamespace::regnamespace::text, '*') || ' ' || da.defaclobjtype::text
         || ' ' || array_to_string(array(select unnest(da.defaclacl)::text order by 1), ',')
  from pg_catalog.pg_default_acl da
) facts
order by line
