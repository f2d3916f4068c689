-- Function scheduler.net_guard, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.net_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  if pg_catalog.to_regrole('scenario_scheduler') is not null
     and exists (select 1 from pg_catalog.pg_roles r where r.rolname = session_user and not r.rolsuper)
     and pg_catalog.pg_has_role(session_user, 'scenario_scheduler', 'MEMBER') then
    raise exception 'scheduler: role % (scenario_scheduler) may not % on %.%',
      session_user, tg_op, tg_table_schema, tg_table_name
      using errcode = '42501',
            hint = 'The scheduler function''s database role has no business with pg_net''s queue.';
  end if;
  if tg_level = 'STATEMENT' then
    return null;
  elsif tg_op = 'DELETE' then
    return old;
  end if;
  return new;
end
$$;

COMMENT ON FUNCTION scheduler.net_guard() IS 'Trigger on pg_net''s tables: refuses writes from sessions of the scheduler function''s role.';

REVOKE ALL ON FUNCTION scheduler.net_guard() FROM PUBLIC;
