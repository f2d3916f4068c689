-- Function scheduler.watch_findings_core, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.watch_findings_core(p_now timestamp with time zone DEFAULT now()) RETURNS TABLE(problem text, detail text, since timestamp with time zone)
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $_$
declare
  s         scheduler.ops_settings;
  v_today   date;
  v_day0    timestamptz;
  v_missing text[];
  v_late    text[] := '{}'::text[];  -- [lint] typed
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
$_$;

REVOKE ALL ON FUNCTION scheduler.watch_findings_core(p_now timestamp with time zone) FROM PUBLIC;
