-- Function scheduler.mentor_today, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.mentor_today(p_organisation uuid) RETURNS date
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select (pg_catalog.now() at time zone coalesce(
            (select z.name from scheduler_source.organisations o
             join pg_catalog.pg_timezone_names z on z.name = coalesce(nullif(pg_catalog.btrim(o.timezone), ''), 'Europe/Oslo')
             where o.id = p_organisation),
            s.time_zone))::date
  from scheduler.ops_settings s
$$;

REVOKE ALL ON FUNCTION scheduler.mentor_today(p_organisation uuid) FROM PUBLIC;
