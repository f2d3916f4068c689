-- Function scheduler.slot_form, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.slot_form(p_slot text) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $_$
  select p_slot = ''
      or (pg_catalog.length(p_slot) <= 67
          and p_slot ~ '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}@([01][0-9]|2[0-3])$'
          and p_slot !~ '(^|/)\.')
$_$;

REVOKE ALL ON FUNCTION scheduler.slot_form(p_slot text) FROM PUBLIC;
