-- Function scheduler.hourly_first_call, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.hourly_first_call(p_at timestamp with time zone) RETURNS timestamp with time zone
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $_$
declare
  v_schedule text;
  v_f        text[];
  v_mi       integer[];
  v_hr       integer[];
begin
  if p_at is null or pg_catalog.to_regclass('cron.job') is null then
    return null;
  end if;
  execute 'select j.schedule::text from cron.job j where j.jobname = $1 and j.database = pg_catalog.current_database()'
    into v_schedule using 'scenario-scheduler-hourly';
  v_f := pg_catalog.regexp_split_to_array(pg_catalog.btrim(coalesce(v_schedule, '')), '\s+');
  if pg_catalog.array_length(v_f, 1) is distinct from 5 or v_f[3] <> '*' or v_f[4] <> '*' or v_f[5] <> '*' then
    return null;
  end if;
  v_mi := scheduler.cron_field(v_f[1], 0, 59);
  v_hr := scheduler.cron_field(v_f[2], 0, 23);
  if v_mi is null or v_hr is null then
    return null;
  end if;
  return (select pg_catalog.min(x.t) from (
            select (d + pg_catalog.make_interval(hours => h, mins => m)) at time zone 'UTC' as t
            from pg_catalog.unnest(array[(p_at at time zone 'UTC')::date, (p_at at time zone 'UTC')::date + 1]) d,
                 pg_catalog.unnest(v_hr) h, pg_catalog.unnest(v_mi) m) x
          where x.t >= p_at);
end
$_$;

COMMENT ON FUNCTION scheduler.hourly_first_call(p_at timestamp with time zone) IS 'The hourly job''s first call at or after the given time, read from its schedule; null when it cannot be read.';

REVOKE ALL ON FUNCTION scheduler.hourly_first_call(p_at timestamp with time zone) FROM PUBLIC;
