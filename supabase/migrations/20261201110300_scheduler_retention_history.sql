-- Retention and run history.
--
-- scheduler.prune() closes runs left "running" by a killed function as abandoned, and deletes what is older than
-- scheduler.ops_settings allows: runs, checkpoints (the per-date idempotency bookkeeping), invocations and
-- alerts after history_days, pg_cron's cron.job_run_details after cron_details_days. A pg_cron job,
-- scheduler-retention, runs it daily (scheduled only where pg_cron runs and only if missing).
--
-- scheduler.run_history: the last 14 local days, one row each, for the dashboard's SQL editor and for
-- `go tool task status`. It is a security_invoker view in the scheduler schema, which the Data API does not
-- expose, and anon/authenticated hold nothing on it.
-- Safe to apply twice.

create or replace function scheduler.prune(p_now timestamptz default now())
returns table (what text, affected bigint)
language plpgsql volatile set search_path = ''
as $$
declare
  s       scheduler.ops_settings;
  v_today date;
  v_keep  timestamptz;
  v_ids   uuid[];
  n       bigint;
begin
  select * into s from scheduler.ops_settings;
  v_today := (p_now at time zone s.time_zone)::date;
  v_keep := p_now - pg_catalog.make_interval(days => s.history_days);

  -- Runs whose function died: still running long after they started, holding no live lease.
  with gone as (
    update scheduler.runs r
    set status = 'abandoned', finished_at = p_now,
        report = coalesce(r.report, '{}'::jsonb) || pg_catalog.jsonb_build_object('status', 'abandoned',
                 'abandoned_by', 'scheduler.prune', 'reason', 'no report and no live lease after '
                 || s.abandon_after_minutes || ' minutes')
    where r.status = 'running'
      and r.started_at < p_now - pg_catalog.make_interval(mins => s.abandon_after_minutes)
      and not exists (select 1 from scheduler.checkpoints c where c.lease_owner = r.id and c.lease_until > p_now)
    returning r.id)
  select array_agg(id) into v_ids from gone;
  update scheduler.checkpoints c set lease_owner = null, lease_until = null, updated_at = p_now
  where c.lease_owner = any (v_ids);
  what := 'runs closed as abandoned'; affected := coalesce(pg_catalog.array_length(v_ids, 1), 0); return next;

  delete from scheduler.runs r where r.started_at < v_keep and r.status <> 'running';
  get diagnostics n = row_count;
  what := 'runs deleted'; affected := n; return next;

  delete from scheduler.checkpoints c where c.evaluation_date < v_today - s.history_days;
  get diagnostics n = row_count;
  what := 'checkpoints deleted'; affected := n; return next;

  delete from scheduler.invocations i where i.queued_at < v_keep;
  get diagnostics n = row_count;
  what := 'invocations deleted'; affected := n; return next;

  delete from scheduler.alerts a where a.day < v_today - s.history_days;
  get diagnostics n = row_count;
  what := 'alerts deleted'; affected := n; return next;

  if pg_catalog.to_regclass('cron.job_run_details') is not null then
    execute 'delete from cron.job_run_details d where coalesce(d.end_time, d.start_time) < $1
             and d.status not in (''running'', ''starting'')'
      using p_now - pg_catalog.make_interval(days => s.cron_details_days);
    get diagnostics n = row_count;
    what := 'cron.job_run_details deleted'; affected := n; return next;
  end if;
end
$$;

-- Schedules (or reschedules) the retention job, scheduler-retention, on p_schedule (UTC; default 03:17 daily).
create or replace function scheduler.schedule_retention(p_schedule text default '17 3 * * *')
returns table (jobname text, schedule text, command text, active boolean)
language plpgsql volatile set search_path = ''
as $$
begin
  perform scheduler.require_cron();
  return query execute
    'select j.jobname::text, j.schedule::text, j.command::text, j.active from cron.job j
     where j.jobid = cron.schedule($1, $2, $3)'
    using 'scheduler-retention', p_schedule, 'select count(*) from scheduler.prune()';
end
$$;

revoke all on function scheduler.prune(timestamptz) from public;
revoke all on function scheduler.schedule_retention(text) from public;

do $$
declare
  v_exists boolean;
begin
  -- Static SQL on cron.job would fail to plan where pg_cron is missing: the check runs through execute.
  if pg_catalog.to_regclass('cron.job') is not null then
    execute 'select exists (select 1 from cron.job where jobname = $1)' into v_exists using 'scheduler-retention';
    if not v_exists then
      perform scheduler.schedule_retention();
    end if;
  end if;
end
$$;

-- pg_net's answers to a set of invocations, e.g. "200 x2, 401 x1, no answer x1". A request whose answer pg_net
-- has already deleted (it keeps them about 6 hours) counts as "expired".
create or replace function scheduler.answer_summary(p_from timestamptz, p_to timestamptz)
returns text
language plpgsql stable set search_path = ''
as $$
declare
  v text;
begin
  if pg_catalog.to_regclass('net._http_response') is null then
    select case when count(*) > 0 then 'pg_net missing x' || count(*) end into v
    from scheduler.invocations i where i.queued_at >= p_from and i.queued_at < p_to;
    return v;
  end if;
  execute $q$
    select pg_catalog.string_agg(k || ' x' || n, ', ' order by k) from (
      select case when r.id is not null and r.timed_out then 'timeout'
                  when r.id is not null and r.status_code is null then 'connection error'
                  when r.id is not null then r.status_code::text
                  when i.queued_at < now() - interval '6 hours' then 'expired'
                  else 'no answer' end as k, count(*) as n
      from scheduler.invocations i
      left join net._http_response r on r.id = i.request_id and r.created between i.queued_at - interval '1 minute' and i.queued_at + interval '6 hours'
      where i.queued_at >= $1 and i.queued_at < $2
      group by 1) x$q$ into v using p_from, p_to;
  return v;
end
$$;
revoke all on function scheduler.answer_summary(timestamptz, timestamptz) from public;

create or replace view scheduler.run_history with (security_invoker = true) as
with s as (select time_zone, (now() at time zone time_zone)::date as today from scheduler.ops_settings),
days as (
  select d::date as day, d::date::timestamp at time zone s.time_zone as day_from,
         (d::date + 1)::timestamp at time zone s.time_zone as day_to
  from s, generate_series(s.today - 13, s.today, interval '1 day') d
),
per_scenario as (
  select d.day, sc.scenario, sc.priority,
         case when cp.done then 'completed' when cp.scenario is not null then 'partial' else 'missing' end as status,
         coalesce(cp.evaluated, 0) as evaluated, coalesce(cp.notified, 0) as notified
  from days d
  cross join scheduler.enabled_scenarios() sc
  left join scheduler.checkpoints cp on cp.evaluation_date = d.day and cp.scenario = sc.scenario
)
select d.day,
       case when bool_and(p.status = 'completed') then 'completed'
            when bool_or(p.status <> 'missing') then 'partial'
            when r.runs > 0 then 'failed'
            else 'no run' end as status,
       string_agg(p.scenario || ' ' || p.status, ', ' order by p.priority desc, p.scenario) as scenarios,
       sum(p.evaluated)::bigint as evaluated,
       sum(p.notified)::bigint as notified,
       coalesce(r.runs, 0) as runs,
       r.duration_ms,
       scheduler.answer_summary(d.day_from, d.day_to) as answers,
       (select string_agg(a.problem, ', ' order by a.id) from scheduler.alerts a
        where a.day = d.day and a.resolved_at is null) as open_alerts
from days d
join per_scenario p on p.day = d.day
left join lateral (
  select count(*) as runs, sum(u.duration_ms)::bigint as duration_ms
  from scheduler.runs u where u.evaluation_date = d.day and not u.dry_run
) r on true
group by d.day, d.day_from, d.day_to, r.runs, r.duration_ms
order by d.day desc;
comment on view scheduler.run_history is
  'The last 14 local days: status per scenario, counts, run time, pg_net''s answers, open alerts (docs/operations.md).';
revoke all on table scheduler.run_history from public;

-- Supabase's API roles hold nothing on the operations objects (the scheduler schema is not exposed either).
do $$
declare
  r record;
begin
  for r in select rolname from pg_catalog.pg_roles where rolname in ('anon', 'authenticated') loop
    execute format('revoke all on table scheduler.invocations, scheduler.ops_settings, scheduler.alerts, '
                   'scheduler.run_history from %I', r.rolname);
  end loop;
end
$$;
