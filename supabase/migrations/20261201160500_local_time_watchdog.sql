-- Each organisation's local time, the watchdog: with the hourly job, a slot that never ran for its local date
-- is an alert (run_missing), even when other slots of the same date ran. The watchdog's own reading
-- (20261201110200_scheduler_watchdog.sql, through scheduler.job_schedule) only sees the day's checkpoints as
-- a whole: once one slot had written some, a slot that never started went unnoticed.
-- Safe to apply twice.

-- The slots that have not started their local date's evaluation by their send hour plus the grace period,
-- while the hourly job is active (under the daily job every slot's date is the whole project's, which the
-- watchdog already watches). No checkpoint of the slot, or of the whole project, for that date: missing.
create or replace function scheduler.missing_slots(p_now timestamptz default pg_catalog.now())
returns table (slot text, local_date date, organisations text)
language plpgsql stable set search_path = ''
as $$
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
comment on function scheduler.missing_slots(timestamptz) is
  'With the hourly job: the slots whose local date''s evaluation has not started by their send hour (or the hourly job''s first call, on the day it was created) plus the grace period.';
revoke all on function scheduler.missing_slots(timestamptz) from public;

-- scheduler.watch_findings (20261201135000_source_contract.sql) with the missing slots, marked "[local time]".
create or replace function scheduler.watch_findings(p_now timestamptz default now())
returns table (problem text, detail text, since timestamptz)
language plpgsql stable set search_path = ''
as $$
declare
  v_today   date := (p_now at time zone (select s.time_zone from scheduler.ops_settings s))::date;
  v_source  boolean := false;
  v_missing boolean := false;  -- [local time] run_missing already raised
  v_root    boolean := false;  -- [local time] a problem upstream of the runs already raised
  r         record;
begin
  -- The newest run of today that failed on the contract, unless a later run of today got past the check.
  for r in
    select u.report ->> 'problem' as what, u.started_at
    from scheduler.runs u
    where u.evaluation_date = v_today and u.status = 'failed' and u.report ->> 'error_code' = 'source_contract'
      and not exists (select 1 from scheduler.runs v
                      where v.evaluation_date = v_today and v.started_at > u.started_at
                        and coalesce(v.report ->> 'error_code', '') <> 'source_contract' and v.status <> 'running')
    order by u.started_at desc
    limit 1
  loop
    problem := 'source_contract';
    detail := r.what;
    since := null;
    v_source := true;
    return next;
  end loop;
  for r in select * from scheduler.watch_findings_core(p_now) f loop
    continue when v_source and r.problem in ('http_error', 'run_missing', 'run_partial');
    problem := r.problem;
    detail := r.detail;
    since := r.since;
    v_missing := v_missing or r.problem = 'run_missing';  -- [local time]
    v_root := v_root or r.problem not in ('run_missing', 'run_partial');  -- [local time]
    return next;
  end loop;
  -- [local time] A slot that never started its local date (the others may have): one run_missing naming them.
  if not (v_source or v_missing or v_root) then
    select pg_catalog.string_agg(pg_catalog.format('%s on %s (%s)', m.slot, m.local_date, m.organisations), '; ' order by m.slot)
    into detail
    from scheduler.missing_slots(p_now) m;
    if detail is not null then
      problem := 'run_missing';
      detail := 'no run started for ' || detail || ' by the send hour plus the grace period';
      since := null;
      return next;
    end if;
  end if;
end
$$;
