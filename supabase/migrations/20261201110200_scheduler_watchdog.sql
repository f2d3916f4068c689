-- A watchdog that needs nothing but the database: a pg_cron job, scheduler-watchdog, runs scheduler.watchdog()
-- every 10 minutes. It records each problem once per local day in scheduler.alerts and, when Vault holds
-- scenario_scheduler_alert_url, posts it there through pg_net as a Slack-compatible {"text": ...} message.
--
-- What it finds (docs/operations.md says what each means and what to do):
--   not_scheduled        an enabled scenario has no active cron job (job removed, paused, or pg_cron missing)
--   vault_entry_missing  scenario_scheduler_url or scenario_scheduler_secret is not in Vault
--   invoke_failed        a scheduler cron job's run failed (cron.job_run_details)
--   no_answer            pg_net never answered a queued request (its worker is down or serves another database)
--   unauthorised         the function answered 401: Vault's secret is not the function's
--   unreachable          pg_net could not connect to the URL in Vault
--   timeout              the function did not answer within pg_net's timeout
--   http_error           the function answered another non-2xx status
--   run_missing          the expected time plus the grace period passed and no run evaluated a scenario today
--   run_partial          a run started today but left scenarios incomplete after the last firing plus grace
-- One root cause gives one alert: run_missing and run_partial are raised only when nothing above explains
-- them. A problem seen again the same day is not posted again.
--
-- pg_net's answer to an invocation is the net._http_response row with its request id created from a minute
-- before (the worker's transaction may start first) to six hours after (pg_net's TTL) the call: request ids
-- start again when pg_net is re-created, and an old invocation must not take a new request's answer.
--
-- The job runs as the role that applied this migration (it reads cron.job, cron.job_run_details, Vault and
-- net._http_response, all readable by postgres on Supabase). Scheduled only where pg_cron runs, and only when
-- the job does not exist yet (an operator's changed schedule survives a re-application). Safe to apply twice.

create table if not exists scheduler.alerts (
  id                bigint generated always as identity primary key,
  -- The local day (scheduler.ops_settings.time_zone) the problem concerns.
  day               date not null,
  problem           text not null check (problem in (
                      'not_scheduled', 'vault_entry_missing', 'invoke_failed', 'no_answer', 'unauthorised',
                      'unreachable', 'timeout', 'http_error', 'run_missing', 'run_partial')),
  detail            text not null,
  -- The newest evidence's time (a failed request's queue time), for resolving event problems.
  since             timestamptz,
  first_seen        timestamptz not null default now(),
  last_seen         timestamptz not null default now(),
  resolved_at       timestamptz,
  -- pg_net's request id of the post to the alert URL (null: no alert URL in Vault).
  notify_request_id bigint,
  constraint alerts_one_per_day unique (day, problem)
);
comment on table scheduler.alerts is
  'Problems the watchdog found: one row per problem and local day; resolved_at set once it is gone.';
create index if not exists alerts_open on scheduler.alerts (day) where resolved_at is null;
revoke all on table scheduler.alerts from public;

-- The problems on p_now's local day, as (problem, detail, since). Read-only; scheduler.watchdog() records them.
create or replace function scheduler.watch_findings(p_now timestamptz default now())
returns table (problem text, detail text, since timestamptz)
language plpgsql stable set search_path = ''
as $$
declare
  s         scheduler.ops_settings;
  v_today   date;
  v_day0    timestamptz;
  v_missing text[];
  v_late    text[] := '{}';
  v_root    boolean := false;
  v_last_ok timestamptz;
  r         record;
begin
  select * into s from scheduler.ops_settings;
  v_today := (p_now at time zone s.time_zone)::date;
  v_day0 := v_today::timestamp at time zone s.time_zone;

  -- Every enabled scenario needs an active job.
  v_missing := array(select c.scenario from scheduler.scenario_schedule(v_today) c where c.jobs = '{}');
  if v_missing <> '{}' then
    problem := 'not_scheduled';
    detail := case when pg_catalog.to_regclass('cron.job') is null
                then format('pg_cron is not installed in database %s: nothing calls the function', pg_catalog.current_database())
                else format('no active cron job runs %s (removed or paused); see select * from scheduler.cron_jobs()',
                            pg_catalog.array_to_string(v_missing, ', '))
              end;
    since := null;
    v_root := true;
    return next;
  end if;

  -- The Vault entries scheduler.invoke() reads (names only; values are never read out).
  if pg_catalog.to_regclass('vault.decrypted_secrets') is null then
    v_missing := array['Supabase Vault (extension supabase_vault)'];
  else
    execute $q$select array(select x from unnest(array['scenario_scheduler_url', 'scenario_scheduler_secret']) x
                where not exists (select 1 from vault.decrypted_secrets v
                                  where v.name = x and coalesce(v.decrypted_secret, '') <> ''))$q$
      into v_missing;
  end if;
  if v_missing <> '{}' then
    problem := 'vault_entry_missing';
    detail := format('missing or empty in Vault: %s; scheduler.invoke() cannot queue the call',
                     pg_catalog.array_to_string(v_missing, ', '));
    since := null;
    v_root := true;
    return next;
  elsif pg_catalog.to_regclass('cron.job_run_details') is not null then
    -- Failed runs of the scheduler's jobs today (the Vault case above explains its own failures).
    for r in execute
      $q$select count(*) as n, max(d.end_time) as at,
                (array_agg(pg_catalog.left(d.return_message, 300) order by d.end_time desc))[1] as msg
         from cron.job_run_details d join cron.job j on j.jobid = d.jobid
         where d.status = 'failed' and d.start_time >= $1 and d.start_time <= $2
           and scheduler.job_scenarios(j.command) is not null
         having count(*) > 0$q$ using v_day0, p_now
    loop
      problem := 'invoke_failed';
      detail := format('%s failed run(s) of the scheduler''s cron jobs today; last: %s', r.n, r.msg);
      since := r.at;
      v_root := true;
      return next;
    end loop;
  end if;

  -- pg_net's answers to today's requests after the newest successful one.
  if pg_catalog.to_regclass('net._http_response') is not null then
    execute $q$select max(i.queued_at) from scheduler.invocations i
                join net._http_response r on r.id = i.request_id and r.created between i.queued_at - interval '1 minute' and i.queued_at + interval '6 hours'
                where i.queued_at >= $1 and r.status_code between 200 and 299$q$
      into v_last_ok using v_day0;
    for r in execute
      $q$select k.kind, count(*) as n, max(k.queued_at) as at,
                (array_agg(k.what order by k.queued_at desc))[1] as what
         from (
           select i.queued_at,
                  case when r.id is null then 'no_answer'
                       when r.timed_out then 'timeout'
                       when r.status_code is null then 'unreachable'
                       when r.status_code = 401 then 'unauthorised'
                       else 'http_error' end as kind,
                  case when r.id is null then 'request ' || i.request_id || ' queued at '
                                               || pg_catalog.to_char(i.queued_at at time zone 'UTC', 'HH24:MI') || ' UTC'
                       when r.status_code is null then pg_catalog.left(coalesce(r.error_msg, 'no status'), 200)
                       else 'HTTP ' || r.status_code end as what
           from scheduler.invocations i
           left join net._http_response r on r.id = i.request_id and r.created between i.queued_at - interval '1 minute' and i.queued_at + interval '6 hours'
           where i.queued_at >= greatest($1, coalesce($2, $1), $3 - interval '5 hours')
             and i.queued_at > coalesce($2, '-infinity')
             and i.queued_at <= $3
             and (r.id is not null or i.queued_at <= $3 - pg_catalog.make_interval(mins => $4))
             and (r.id is null or r.status_code is null or r.timed_out or r.status_code not between 200 and 299)
         ) k
         group by k.kind order by k.kind$q$ using v_day0, v_last_ok, p_now, s.answer_wait_minutes
    loop
      problem := r.kind;
      detail := format('%s request(s) since the last success; last: %s', r.n, r.what) ||
        case r.kind
          when 'unauthorised' then ': the Vault secret does not match the function''s secret'
          when 'unreachable' then ': the URL in Vault is unreachable from the database'
          when 'no_answer' then ': pg_net''s worker did not answer (is it running, and does pg_net.database_name name this database?)'
          when 'timeout' then ': the function did not answer within pg_net''s timeout'
          else '' end;
      since := r.at;
      v_root := true;
      return next;
    end loop;
  end if;

  if v_root then
    return;
  end if;
  -- Today's evaluation: complete after the last firing plus grace; started after the first firing plus grace.
  for r in
    select c.scenario, c.first_fire, c.last_fire
    from scheduler.scenario_schedule(v_today) c
    left join scheduler.checkpoints cp on cp.evaluation_date = v_today and cp.scenario = c.scenario
    where c.first_fire is not null and not coalesce(cp.done, false)
      and p_now >= c.first_fire + pg_catalog.make_interval(mins => s.grace_minutes)
  loop
    if not exists (select 1 from scheduler.checkpoints cp where cp.evaluation_date = v_today)
       and not exists (select 1 from scheduler.runs u where u.evaluation_date = v_today and not u.dry_run) then
      v_late := v_late || ('missing:' || r.scenario);
    elsif p_now >= r.last_fire + pg_catalog.make_interval(mins => s.grace_minutes) then
      v_late := v_late || ('partial:' || r.scenario);
    end if;
  end loop;
  if exists (select 1 from pg_catalog.unnest(v_late) x where x like 'missing:%') then
    problem := 'run_missing';
    detail := format('no run evaluated %s on %s by the expected time plus %s min',
      (select pg_catalog.string_agg(pg_catalog.substr(x, 9), ', ') from pg_catalog.unnest(v_late) x where x like 'missing:%'),
      v_today, s.grace_minutes);
    since := null;
    return next;
  elsif exists (select 1 from pg_catalog.unnest(v_late) x where x like 'partial:%') then
    problem := 'run_partial';
    detail := format('today''s run left %s incomplete', (select pg_catalog.string_agg(pg_catalog.substr(x, 9), ', ')
                     from pg_catalog.unnest(v_late) x where x like 'partial:%')) ||
      case when exists (select 1 from scheduler.job_schedule(v_today) j where j.active and j.jobname = 'scenario-scheduler-catch-up')
        then ' after the catch-up job''s last call'
        else ' and no catch-up job is scheduled (select * from scheduler.schedule_catch_up())' end;
    since := null;
    return next;
  end if;
end
$$;

-- Records p_now's findings in scheduler.alerts, posts the new ones to the alert URL in Vault (if any), resolves
-- today's open alerts that are gone, and returns the alerts raised by this call (a problem already recorded
-- for the day is not raised, nor posted, again).
create or replace function scheduler.watchdog(p_now timestamptz default now())
returns setof scheduler.alerts
language plpgsql volatile set search_path = ''
as $$
declare
  v_today date := (p_now at time zone (select s.time_zone from scheduler.ops_settings s))::date;
  v_url   text;
  v_seen  text[] := '{}';
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

  for f in select * from scheduler.watch_findings(p_now) loop
    v_seen := v_seen || f.problem;
    insert into scheduler.alerts as al (day, problem, detail, since, first_seen, last_seen)
    values (v_today, f.problem, f.detail, f.since, p_now, p_now)
    on conflict on constraint alerts_one_per_day do update
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

  -- State problems are resolved when no longer seen; event problems (since is set) when a request queued after
  -- their newest evidence got a 2xx answer.
  update scheduler.alerts al set resolved_at = p_now
  where al.day = v_today and al.resolved_at is null and not (al.problem = any (v_seen))
    and (al.since is null or (pg_catalog.to_regclass('net._http_response') is not null
                              and scheduler.answered_ok_after(al.since)));
end
$$;

-- Whether a request scheduler.invoke() queued after p_since got a 2xx answer from the function.
create or replace function scheduler.answered_ok_after(p_since timestamptz)
returns boolean
language plpgsql stable set search_path = ''
as $$
declare
  v boolean;
begin
  execute $q$select exists (select 1 from scheduler.invocations i
              join net._http_response r on r.id = i.request_id and r.created between i.queued_at - interval '1 minute' and i.queued_at + interval '6 hours'
              where i.queued_at > $1 and r.status_code between 200 and 299)$q$ into v using p_since;
  return v;
end
$$;

-- Schedules (or reschedules) the watchdog job, scheduler-watchdog, on p_schedule (UTC; default every 10 minutes).
create or replace function scheduler.schedule_watchdog(p_schedule text default '*/10 * * * *')
returns table (jobname text, schedule text, command text, active boolean)
language plpgsql volatile set search_path = ''
as $$
begin
  perform scheduler.require_cron();
  return query execute
    'select j.jobname::text, j.schedule::text, j.command::text, j.active from cron.job j
     where j.jobid = cron.schedule($1, $2, $3)'
    using 'scheduler-watchdog', p_schedule, 'select count(*) from scheduler.watchdog()';
end
$$;

revoke all on function scheduler.watch_findings(timestamptz) from public;
revoke all on function scheduler.watchdog(timestamptz) from public;
revoke all on function scheduler.answered_ok_after(timestamptz) from public;
revoke all on function scheduler.schedule_watchdog(text) from public;

do $$
declare
  v_exists boolean;
begin
  -- Static SQL on cron.job would fail to plan where pg_cron is missing: the check runs through execute.
  if pg_catalog.to_regclass('cron.job') is not null then
    execute 'select exists (select 1 from cron.job where jobname = $1)' into v_exists using 'scheduler-watchdog';
    if not v_exists then
      perform scheduler.schedule_watchdog();
    end if;
  end if;
end
$$;
