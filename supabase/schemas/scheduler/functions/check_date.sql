-- Function scheduler.check_date, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.check_date(p_what text, p_date date) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  if p_date is null then
    raise exception using errcode = '22023', message = pg_catalog.format('%s: a date is required', p_what);
  end if;
  if scheduler.caller_is_function_role()
     and (p_date < current_date - (90 + 1) or p_date > current_date + (1 + 1)) then
    raise exception using errcode = '22023',
      message = pg_catalog.format('%s: date %s is outside the allowed window %s to %s',
                                  p_what, p_date, current_date - (90 + 1), current_date + (1 + 1));
  end if;
end
$$;

REVOKE ALL ON FUNCTION scheduler.check_date(p_what text, p_date date) FROM PUBLIC;
