-- Function scheduler.next_local_runs, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.next_local_runs(p_now timestamp with time zone DEFAULT now()) RETURNS TABLE(organisation_id uuid, organisation text, time_zone text, send_hour integer, slot text, local_date date, next_run_local timestamp without time zone, next_run_utc timestamp with time zone, state text)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  with orgs as (select * from scheduler.organisation_slots()),
  zones as materialized (
    select z.time_zone, scheduler.zone_known(z.time_zone) as known
    from (select distinct o.time_zone from orgs o) z
  ),
  slots as materialized (
    select s.slot, s.time_zone, s.send_hour, l.local_now,
           ((l.local_now::date + pg_catalog.make_interval(hours => s.send_hour)) at time zone s.time_zone) as today_at,
           scheduler.slot_done(l.local_now::date, s.slot) as today_done
    from (select distinct o.slot, o.time_zone, o.send_hour from orgs o) s
    join zones z on z.time_zone = s.time_zone and z.known
    cross join lateral (select p_now at time zone s.time_zone as local_now) l
  ),
  nxt as (
    -- A date already complete (a slot run, or a whole-project run before the send hour) is not run again:
    -- the next run is tomorrow's, as due_slots will have it.
    select s.slot,
           case when s.today_done then s.local_now::date + 1 else s.local_now::date end as local_date,
           case when s.today_done
                  then ((s.local_now::date + 1 + pg_catalog.make_interval(hours => s.send_hour)) at time zone s.time_zone)
                when s.today_at > p_now then s.today_at
                else p_now
           end as at_utc,
           case when s.today_at <= p_now and not s.today_done then 'due' else 'scheduled' end as state
    from slots s
  )
  select o.organisation_id, o.organisation, o.time_zone, o.send_hour, o.slot, n.local_date,
         n.at_utc at time zone o.time_zone, n.at_utc, coalesce(n.state, 'unknown time zone')
  from orgs o
  left join nxt n on n.slot = o.slot
  order by n.at_utc nulls first, o.organisation, o.organisation_id
$$;

COMMENT ON FUNCTION scheduler.next_local_runs(p_now timestamp with time zone) IS 'Each organisation''s next local run: time zone, send hour, slot, local date, local and UTC time, and state (scheduled, due, unknown time zone).';

REVOKE ALL ON FUNCTION scheduler.next_local_runs(p_now timestamp with time zone) FROM PUBLIC;
