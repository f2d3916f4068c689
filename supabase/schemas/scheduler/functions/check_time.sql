-- Function scheduler.check_time, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.check_time(p_what text, p_at timestamp with time zone) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  if p_at is null then
    raise exception using errcode = '22023', message = pg_catalog.format('%s: a time is required', p_what);
  end if;
  if scheduler.caller_is_function_role()
     and (p_at < pg_catalog.now() - interval '91 days' or p_at > pg_catalog.now() + interval '2 days') then
    raise exception using errcode = '22023',
      message = pg_catalog.format('%s: time %s is outside the allowed window', p_what, p_at);
  end if;
end
$$;

REVOKE ALL ON FUNCTION scheduler.check_time(p_what text, p_at timestamp with time zone) FROM PUBLIC;
