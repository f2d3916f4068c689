-- Function scheduler.findings_core, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.findings_core(p_now timestamp with time zone DEFAULT now()) RETURNS TABLE(problem text, cause text, detail text, since timestamp with time zone)
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $_$
declare
  s         scheduler.ops_settings;
  v_today   date;
  v_missing text[];
  v_late    text[] := '{}'::text[];  -- [lint] typed
  v_root    boolean := false;  -- a finding that explains a missing or partial run: none is expected
  r         record;
begin
  select * into s from scheduler.ops_settings;
  v_today := (p_now at time zone s.time_zone)::date;

  -- Every enabled scenario needs an active job. It does not explain a missed run of the scenarios that
  -- have one (they are expected at their jobs' times), so it does not hold back run_missing for them.
  v_missing := array(select c.scenario from scheduler.scenario_schedule(v_today) c where c.jobs = '{}');
  if v_missing <> '{}' then
    problem := 'not_scheduled';
    detail := case when pg_catalog.to_regclass('cron.job') is null
                then format('pg_cron is not installed in database %s: nothing calls the function', pg_catalog.current_database())
                else format('no active cron job runs %s (removed or paused); see select * from scheduler.cron_jobs()',
                            pg_catalog.array_to_string(v_missing, ', '))
              end;
    cause := pg_catalog.array_to_string(v_missing, ', ');
    since := null;
    return next;
  end if;

  -- A trigger on pg_net's tables other than the scheduler's guards: scheduler.invoke() refuses to queue while
  -- it is there, so nothing runs, and only the tables' owner can drop it. Read from the catalog, so it is
  -- found before any call too.
  for r in select * from scheduler.foreign_net_trigger_list() f loop
    problem := 'foreign_trigger';
    cause := r.trigger_name || ' on ' || r.table_name;
    detail := pg_catalog.format('trigger %s on %s (function %s), on a table owned by %s: scheduler.invoke() refuses to queue while it is there, so nothing runs. Neither postgres nor the function role can drop it: ask the owner of schema net (%s; on hosted Supabase the platform''s support) to run: drop trigger %s on %s; then find out who created it and rotate the function''s secret',
      r.trigger_name, r.table_name, r.function_name, r.owner, r.owner, r.trigger_name, r.table_name);
    since := null;
    v_root := true;
    return next;
  end loop;

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
    cause := pg_catalog.array_to_string(v_missing, ', ');
    detail := format('missing or empty in Vault: %s; scheduler.invoke() cannot queue the call', cause);
    since := null;
    v_root := true;
    return next;
  else
    -- Failed runs of the scheduler's jobs since invoke() last worked, one per cause (the Vault case above
    -- explains its own failures).
    for r in select * from scheduler.invoke_failures(p_now) f loop
      problem := 'invoke_failed';
      cause := r.cause;
      detail := format('%s failed run(s) of the scheduler''s cron jobs since scheduler.invoke() last worked; last: %s', r.failures, r.cause);
      since := r.last_at;
      v_root := true;
      return next;
    end loop;
  end if;

  -- pg_net's answers. A lost request does not explain a missing run by itself: the run is still expected.
  for r in select * from scheduler.request_findings(p_now) f loop
    problem := r.problem;
    cause := r.cause;
    detail := r.detail;
    since := r.since;
    v_root := v_root or r.problem <> 'request_lost';
    return next;
  end loop;

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
    cause := (select pg_catalog.string_agg(pg_catalog.substr(x, 9), ', ') from pg_catalog.unnest(v_late) x where x like 'missing:%');
    detail := format('no run evaluated %s on %s by the expected time plus %s min', cause, v_today, s.grace_minutes);
    since := null;
    return next;
  elsif exists (select 1 from pg_catalog.unnest(v_late) x where x like 'partial:%') then
    problem := 'run_partial';
    cause := (select pg_catalog.string_agg(pg_catalog.substr(x, 9), ', ') from pg_catalog.unnest(v_late) x where x like 'partial:%');
    -- What should have resumed it: the continue job (it stopped: select * from scheduler.partial_parts()
    -- says why), else the catch-up job.
    detail := format('today''s run left %s incomplete', cause) ||
      case when scheduler.continue_job_active()
        then ' although the continue job (scheduler-continue) runs: select * from scheduler.partial_parts(); says why it stopped (failing: the function''s answers failed twice in a row; bound: ops_settings.continue_max continuations)'
        when exists (select 1 from scheduler.job_schedule(v_today) j where j.active and j.jobname = 'scenario-scheduler-catch-up')
        then ' after the catch-up job''s last call'
        else ' and neither the continue job (select * from scheduler.schedule_continue()) nor a catch-up job (select * from scheduler.schedule_catch_up()) is scheduled' end;
    since := null;
    return next;
  end if;
end
$_$;

COMMENT ON FUNCTION scheduler.findings_core(p_now timestamp with time zone) IS 'scheduler.findings without the source contract and the per-slot run_missing: the jobs, pg_net''s tables, Vault, failed cron runs, the requests'' outcomes, and today''s runs.';

REVOKE ALL ON FUNCTION scheduler.findings_core(p_now timestamp with time zone) FROM PUBLIC;
