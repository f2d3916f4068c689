-- Function scheduler.prune, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.prune(p_now timestamp with time zone DEFAULT now()) RETURNS TABLE(what text, affected bigint)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $_$
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

  -- Held-out nudges (and so their outcomes, which are computed from them) age with the notifications: kept
  -- as long as those, which the scheduler never deletes, unless nudge_history_days says otherwise.
  delete from scheduler.held_out_nudges h
  where s.nudge_history_days is not null and h.evaluation_date < v_today - s.nudge_history_days;
  get diagnostics n = row_count;
  what := 'held-out nudges deleted'; affected := n; return next;

  if pg_catalog.to_regclass('cron.job_run_details') is not null then
    execute 'delete from cron.job_run_details d where coalesce(d.end_time, d.start_time) < $1
             and d.status not in (''running'', ''starting'')'
      using p_now - pg_catalog.make_interval(days => s.cron_details_days);
    get diagnostics n = row_count;
    what := 'cron.job_run_details deleted'; affected := n; return next;
  end if;
end
$_$;

REVOKE ALL ON FUNCTION scheduler.prune(p_now timestamp with time zone) FROM PUBLIC;
