-- Function scheduler.require_cron, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.require_cron() RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  if pg_catalog.to_regnamespace('cron') is null then
    raise exception 'pg_cron is not installed in database %', pg_catalog.current_database()
      using errcode = '55000',
            hint = format('pg_cron runs in database %s (cron.database_name); enable it there: create extension pg_cron;',
                          coalesce(pg_catalog.current_setting('cron.database_name', true), 'postgres'));
  end if;
end
$$;

REVOKE ALL ON FUNCTION scheduler.require_cron() FROM PUBLIC;
