-- Function scheduler.watchdog, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.watchdog(p_now timestamp with time zone DEFAULT now()) RETURNS SETOF scheduler.alerts
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $_$
declare
  v_today date := (p_now at time zone (select s.time_zone from scheduler.ops_settings s))::date;
  v_url   text;
  v_seen  text[] := '{}'::text[];  -- [lint] typed; each finding as problem || ':' || cause
  v_id    bigint;
  v_new   boolean;
  v_req   bigint;
  f       record;
  a       scheduler.alerts;
begin
  if pg_catalog.to_regclass('vault.decrypted_secrets') is not null then
    execute $q$select s.decrypted_secret from vault.decrypted_secrets s where s.name = 'scenario_scheduler_alert_url'
                order by s.created_at desc limit 1$q$ into v_url;
  end if;

  -- Every request's outcome first: the findings read it (scheduler.request_findings).
  perform scheduler.account_requests(p_now);

  -- One alert per day, problem and cause: a cause seen again is not posted again (even after it was
  -- resolved and came back the same day), a different cause of the same problem is.
  for f in select * from scheduler.findings(p_now) loop
    v_seen := v_seen || (f.problem || ':' || coalesce(f.cause, ''));
    insert into scheduler.alerts as al (day, problem, cause, detail, since, first_seen, last_seen)
    values (v_today, f.problem, coalesce(f.cause, ''), f.detail, f.since, p_now, p_now)
    on conflict on constraint alerts_one_per_cause do update
      set last_seen = excluded.last_seen, detail = excluded.detail,
          since = coalesce(excluded.since, al.since), resolved_at = null
    returning al.id, (al.xmax = 0) into v_id, v_new;
    continue when not v_new;
    if v_url is not null and v_url <> '' and pg_catalog.to_regnamespace('net') is not null then
      execute 'select net.http_post(url := $1, body := $2, headers := $3, timeout_milliseconds := 10000)'
        into v_req
        using v_url,
              pg_catalog.jsonb_build_object('text', format('Scenario scheduler (database %s), %s: %s - %s. See docs/operations.md#%s',
                pg_catalog.current_database(), v_today, f.problem, f.detail, f.problem)),
              '{"Content-Type": "application/json"}'::jsonb;
      update scheduler.alerts al set notify_request_id = v_req where al.id = v_id;
    end if;
    select * into a from scheduler.alerts al where al.id = v_id;
    return next a;
  end loop;

  -- A finding is returned only while its cause is there (a failure only until a later success, a lost
  -- request until one of its kind succeeds): an open alert not seen now is resolved.
  update scheduler.alerts al set resolved_at = p_now
  where al.day = v_today and al.resolved_at is null and not ((al.problem || ':' || al.cause) = any (v_seen));
end
$_$;

REVOKE ALL ON FUNCTION scheduler.watchdog(p_now timestamp with time zone) FROM PUBLIC;
