-- Function scheduler.findings, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.findings(p_now timestamp with time zone DEFAULT now()) RETURNS TABLE(problem text, cause text, detail text, since timestamp with time zone)
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
  v_today   date := (p_now at time zone (select s.time_zone from scheduler.ops_settings s))::date;
  v_source  boolean := false;
  v_missing boolean := false;  -- [local time] run_missing already raised
  v_root    boolean := false;  -- [local time] a problem that explains a missing run already raised
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
    cause := r.what;
    detail := r.what;
    since := null;
    v_source := true;
    return next;
  end loop;
  for r in select * from scheduler.findings_core(p_now) f loop
    continue when v_source and r.problem in ('http_error', 'run_missing', 'run_partial');
    problem := r.problem;
    cause := r.cause;
    detail := r.detail;
    since := r.since;
    v_missing := v_missing or r.problem = 'run_missing';  -- [local time]
    -- [local time] As in findings_core: a finding that stops every call explains a missing slot; one
    -- about another scenario's job or one lost request does not.
    v_root := v_root or r.problem not in ('run_missing', 'run_partial', 'not_scheduled', 'request_lost');
    return next;
  end loop;
  -- [local time] A slot that never started its local date (the others may have): one run_missing naming them.
  if not (v_source or v_missing or v_root) then
    select pg_catalog.string_agg(pg_catalog.format('%s on %s (%s)', m.slot, m.local_date, m.organisations), '; ' order by m.slot),
           pg_catalog.string_agg(pg_catalog.format('%s on %s', m.slot, m.local_date), '; ' order by m.slot)
    into detail, cause
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

COMMENT ON FUNCTION scheduler.findings(p_now timestamp with time zone) IS 'The watchdog''s findings on p_now''s local day, each with its cause (what tells two alerts of one problem apart), returned only while the cause is there. Read-only: scheduler.watchdog() records them.';

REVOKE ALL ON FUNCTION scheduler.findings(p_now timestamp with time zone) FROM PUBLIC;
