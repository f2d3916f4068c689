-- Function scheduler.due_slots, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.due_slots(p_now timestamp with time zone DEFAULT now()) RETURNS TABLE(slot text, time_zone text, send_hour integer, local_date date, organisations integer)
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
  r       record;
  v_local timestamp;
begin
  if p_now is null then
    raise exception 'due_slots: the time must not be null' using errcode = '22023';
  end if;
  for r in
    select s.slot as s_slot, s.time_zone as s_zone, s.send_hour as s_hour, pg_catalog.count(*)::integer as n
    from scheduler.organisation_slots() s
    group by s.slot, s.time_zone, s.send_hour
    order by s.slot
  loop
    continue when not scheduler.zone_known(r.s_zone);
    v_local := p_now at time zone r.s_zone;
    continue when v_local::time < pg_catalog.make_time(r.s_hour, 0, 0);
    continue when scheduler.slot_done(v_local::date, r.s_slot);
    slot := r.s_slot;
    time_zone := r.s_zone;
    send_hour := r.s_hour;
    local_date := v_local::date;
    organisations := r.n;
    return next;
  end loop;
end
$$;

COMMENT ON FUNCTION scheduler.due_slots(p_now timestamp with time zone) IS 'The slots ("<zone>@<HH>") whose local send hour has come on their local date and whose evaluation of that date is not complete.';

REVOKE ALL ON FUNCTION scheduler.due_slots(p_now timestamp with time zone) FROM PUBLIC;
