-- Function scheduler.check_slot, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.check_slot(p_what text, p_slot text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
begin
  if p_slot is null or not scheduler.slot_form(p_slot) then
    raise exception using errcode = '22023',
      message = pg_catalog.format('%s: slot must be "<time zone>@<HH>" (for example "Europe/Oslo@08") or empty, got %s',
                                  p_what, coalesce(pg_catalog.quote_literal(pg_catalog.left(p_slot, 40)), 'null'));
  end if;
end
$$;

REVOKE ALL ON FUNCTION scheduler.check_slot(p_what text, p_slot text) FROM PUBLIC;
