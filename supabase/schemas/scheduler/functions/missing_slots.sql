-- Function scheduler.missing_slots, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.missing_slots(p_now timestamp with time zone DEFAULT now()) RETURNS TABLE(slot text, local_date date, organisations text)
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
  s       scheduler.ops_settings;
  r       record;
  v_local date;
  v_due   timestamptz;
  v_since timestamptz := (select j.started_at from scheduler.job_starts j where j.jobname = 'scenario-scheduler-hourly');
begin
  select * into s from scheduler.ops_settings;
  if not exists (select 1 from scheduler.job_schedule((p_now at time zone s.time_zone)::date) j
                 where j.active and j.jobname = 'scenario-scheduler-hourly') then
    return;
  end if;
  for r in
    select o.slot as s_slot, o.time_zone as s_zone, o.send_hour as s_hour,
           pg_catalog.string_agg(coalesce(o.organisation, o.organisation_id::text), ', ' order by o.organisation) as names
    from scheduler.organisation_slots() o
    group by o.slot, o.time_zone, o.send_hour
    order by o.slot
  loop
    continue when not scheduler.zone_known(r.s_zone);
    v_local := (p_now at time zone r.s_zone)::date;
    v_due := (v_local + pg_catalog.make_interval(hours => r.s_hour)) at time zone r.s_zone;
    if v_since > v_due then
      v_due := coalesce(scheduler.hourly_first_call(v_since), v_since + interval '1 hour');
    end if;
    continue when p_now < v_due + pg_catalog.make_interval(mins => s.grace_minutes);
    continue when exists (select 1 from scheduler.checkpoints c
                          where c.evaluation_date = v_local and c.slot in ('', r.s_slot));
    slot := r.s_slot;
    local_date := v_local;
    organisations := r.names;
    return next;
  end loop;
end
$$;

COMMENT ON FUNCTION scheduler.missing_slots(p_now timestamp with time zone) IS 'With the hourly job: the slots whose local date''s evaluation has not started by their send hour (or the hourly job''s first call, on the day it was created) plus the grace period.';

REVOKE ALL ON FUNCTION scheduler.missing_slots(p_now timestamp with time zone) FROM PUBLIC;
