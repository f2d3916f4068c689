-- Function scheduler.schedule_split, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.schedule_split(p_scenarios text[] DEFAULT NULL::text[], p_hour integer DEFAULT 6, p_minute integer DEFAULT 0, p_stagger_minutes integer DEFAULT 5) RETURNS TABLE(jobname text, schedule text, command text, active boolean)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $_$
declare
  v_scenarios text[];
  v_rest      text[];
  v_name      text;
  v_minute    integer;
  i           integer := 0;
  s           text;
begin
  perform scheduler.require_cron();
  if p_hour not between 0 and 23 or p_minute not between 0 and 59 or p_stagger_minutes < 0 then
    raise exception 'schedule_split: hour must be 0-23, minute 0-59, stagger at least 0' using errcode = '22023';
  end if;
  v_scenarios := coalesce(p_scenarios, array(
    select c.scenario from scheduler.scenario_config c where c.organisation_id is null
    order by c.priority desc, c.scenario));
  foreach s in array v_scenarios loop
    if not exists (select 1 from scheduler.scenario_config c where c.scenario = s and c.organisation_id is null) then
      raise exception 'schedule_split: unknown scenario %', pg_catalog.quote_literal(s) using errcode = '22023';
    end if;
  end loop;

  -- The scenarios the split does not name keep running: together, in one job after the named ones.
  v_rest := array(
    select c.scenario from scheduler.scenario_config c
    where c.organisation_id is null and c.scenario <> all (v_scenarios)
    order by c.priority desc, c.scenario);

  -- Remove per-scenario jobs of an earlier split that are no longer wanted, and the daily job.
  perform scheduler.unschedule_jobs(array(
    select j.jobname from scheduler.cron_jobs() j
    where j.jobname = 'scenario-scheduler-daily'
       or (j.jobname <> 'scenario-scheduler-catch-up'
           and j.jobname not in (select 'scenario-scheduler-' || pg_catalog.replace(x, '_', '-')
                                 from pg_catalog.unnest(v_scenarios) x)
           and (j.jobname <> 'scenario-scheduler-rest' or pg_catalog.cardinality(v_rest) = 0))));

  foreach s in array v_scenarios loop
    v_name := 'scenario-scheduler-' || pg_catalog.replace(s, '_', '-');
    v_minute := p_minute + i * p_stagger_minutes;
    execute 'select cron.schedule($1, $2, $3)' using
      v_name,
      format('%s %s * * *', v_minute % 60, (p_hour + v_minute / 60) % 24),
      format('select scheduler.invoke(array[%L], %L)', s, v_name);
    i := i + 1;
  end loop;
  if pg_catalog.cardinality(v_rest) > 0 then
    v_minute := p_minute + i * p_stagger_minutes;
    execute 'select cron.schedule($1, $2, $3)' using
      'scenario-scheduler-rest',
      format('%s %s * * *', v_minute % 60, (p_hour + v_minute / 60) % 24),
      format('select scheduler.invoke(array[%s], %L)',
             (select pg_catalog.string_agg(pg_catalog.quote_literal(x), ', ') from pg_catalog.unnest(v_rest) x),
             'scenario-scheduler-rest');
  end if;
  return query select * from scheduler.cron_jobs();
end
$_$;

REVOKE ALL ON FUNCTION scheduler.schedule_split(p_scenarios text[], p_hour integer, p_minute integer, p_stagger_minutes integer) FROM PUBLIC;
