-- Function scheduler.organisation_slots, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.organisation_slots() RETURNS TABLE(organisation_id uuid, organisation text, time_zone text, send_hour integer, slot text)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select o.id, o.name, z.zone, h.hour, z.zone || '@' || pg_catalog.lpad(h.hour::text, 2, '0')
  from scheduler_source.organisations o
  cross join lateral (select coalesce(nullif(pg_catalog.btrim(o.timezone), ''), 'Europe/Oslo') as zone) z
  cross join lateral (
    select coalesce((select c.send_hour from scheduler.delivery_config c where c.organisation_id = o.id),
                    (select c.send_hour from scheduler.delivery_config c where c.organisation_id is null),
                    8) as hour) h
$$;

COMMENT ON FUNCTION scheduler.organisation_slots() IS 'Each organisation''s time zone, send hour and slot ("<zone>@<HH>"): when and for which local date it is evaluated.';

REVOKE ALL ON FUNCTION scheduler.organisation_slots() FROM PUBLIC;
