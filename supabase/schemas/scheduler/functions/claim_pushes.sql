-- Function scheduler.claim_pushes, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.claim_pushes(p_run_id uuid, p_now timestamp with time zone, p_today date, p_limit integer, p_lease_ms integer, p_max_attempts integer) RETURNS TABLE(notification_id bigint, disposition text, reason text, user_id uuid, organisation_id uuid, scenario text, locale text, full_name text, data jsonb, tokens text[], attempts integer, push_until timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    SET jit TO 'off'
    AS $_$
#variable_conflict use_column
declare
  v_mentors uuid[];
  v_ready   text[];  -- [local time] '<date> <organisation id>' of the complete evaluations
begin
  -- The checks 20261201100100_least_privilege.sql gives every function the function role executes: at most
  -- 10,000 mentors (the engine claims 100), leases up to an hour, up to 100 attempts, dates in the window.
  perform scheduler.check_time('claim_pushes', p_now);
  perform scheduler.check_date('claim_pushes', p_today);
  perform scheduler.check_range('claim_pushes: limit', p_limit, 1, 10000);
  perform scheduler.check_range('claim_pushes: lease_ms', p_lease_ms, 0, 3600000);
  perform scheduler.check_range('claim_pushes: max_attempts', p_max_attempts, 1, 100);

  -- 0. Evaluation dates from today on whose evaluation is complete (earlier dates always are), per
  -- organisation: [local time] by a whole-project run or by a run of the organisation's slot, so that one
  -- slot's complete run does not release another slot's notifications while that slot is still evaluating.
  -- (Notifications of a date exist only where a run wrote its checkpoints: read the small table.)
  select coalesce(array_agg(d.evaluation_date::text || ' ' || o.organisation_id::text), '{}') into v_ready
  from (select distinct c.evaluation_date from scheduler.checkpoints c where c.evaluation_date >= p_today) d
  cross join scheduler.organisation_slots() o  -- [local time]
  where not exists (
    select 1 from scheduler.enabled_scenarios() e
    where not exists (select 1 from scheduler.checkpoints c
                      where c.evaluation_date = d.evaluation_date and c.scenario = e.scenario
                        and c.slot in ('', o.slot)  -- [local time]
                        and c.done));

  -- 1. Lock the mentors of the first deliverable rows in claiming order (most important first). Only a
  -- batch's worth of the outbox is read: the index serves the order, and the scan stops at the limit. A
  -- mentor another pass is deciding for is skipped, not waited for. The lock is a transaction-level
  -- advisory lock on the mentor's id, not a row lock in the app's tables: the scheduler reads the app only
  -- through its contract views, which need not be lockable (two mentors sharing a hash share a lock: one
  -- of them waits for the next pass).
  select array_agg(l.user_id) into v_mentors
  from (
    select u.user_id
    from (
      select distinct f.user_id
      from (
        select n.user_id
        from public.notifications n
        where n.status = 'pending' and (n.lease_until is null or n.lease_until < clock_timestamp())
          and (n.available_at is null or n.available_at <= p_now)
          and (n.evaluation_date < p_today
               or (n.evaluation_date::text || ' ' || n.organisation_id::text) = any (v_ready))  -- [local time]
        order by n.priority desc, n.id
        limit p_limit * 4
      ) f
    ) u
    -- The mentor's lock (released when the claim's transaction ends); taken only while rows are still needed.
    where pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('scheduler.claim_pushes'),
                                               pg_catalog.hashtext(u.user_id::text))
    limit p_limit
  ) l;
  if v_mentors is null then
    return;
  end if;

  -- 2. A new statement, so a new snapshot: it sees every claim committed before the locks were taken.
  return query
  with cfg as (
    select o.id as organisation_id, o.timezone,
           coalesce(oc.daily_cap, d.daily_cap) as daily_cap,
           coalesce(oc.quiet_start, d.quiet_start) as quiet_start,
           coalesce(oc.quiet_end, d.quiet_end) as quiet_end,
           coalesce(oc.max_age_days, d.max_age_days) as max_age_days
    from scheduler_source.organisations o
    join scheduler.delivery_config d on d.organisation_id is null
    left join scheduler.delivery_config oc on oc.organisation_id = o.id
  ),
  cand as (
    select n.id, n.user_id, n.priority, n.evaluation_date, n.attempts, n.idempotency_key,
           -- The notification's own deadline where it has one (a certification's expiry date).
           case when n.data ->> 'expires_at' ~ '^\d{4}-\d{2}-\d{2}$' then (n.data ->> 'expires_at')::date end
             as deadline,
           c.daily_cap, c.max_age_days,
           c.quiet_start, c.quiet_end, c.timezone,
           (p_now at time zone c.timezone) as local_now
    from public.notifications n
    join cfg c on c.organisation_id = n.organisation_id
    where n.user_id = any(v_mentors)
      and n.status = 'pending' and (n.lease_until is null or n.lease_until < clock_timestamp())
      and (n.available_at is null or n.available_at <= p_now)
      and (n.evaluation_date < p_today
               or (n.evaluation_date::text || ' ' || n.organisation_id::text) = any (v_ready))  -- [local time]
  ),
  facts as (
    select c.*,
           c.local_now::date as local_day,
           case
             when c.quiet_start = c.quiet_end then false
             when c.quiet_start < c.quiet_end then c.local_now::time >= c.quiet_start and c.local_now::time < c.quiet_end
             else c.local_now::time >= c.quiet_start or c.local_now::time < c.quiet_end
           end as quiet,
           exists (select 1 from scheduler_source.device_tokens t where t.user_id = c.user_id and not t.disabled) as has_device,
           -- Pushes of this mentor's day already sent, in flight in another pass or waiting for a retry.
           (select count(*) from public.notifications x
            where x.user_id = c.user_id and x.push_date = c.local_now::date
              and (x.status = 'sent' or (x.status = 'pending' and x.id not in (select id from cand))))::integer
             as used
    from cand c
  ),
  first_pass as (
    select f.*,
           case
             when f.attempts >= p_max_attempts then 'failed'
             when f.evaluation_date < f.local_day - f.max_age_days then 'expired'
             when not f.has_device then 'no_device'
             when f.quiet then 'held'
           end as early
    from facts f
  ),
  -- Materialized: computed once. Inlined, the planner re-ran the whole policy (window and all) for every
  -- pending row the update visited: quadratic in the outbox.
  decided as materialized (
    select p.id, p.local_day,
           coalesce(p.early,
             case when p.daily_cap is null
                    or row_number() over (partition by p.user_id, (p.early is null)
                                          order by p.priority desc, p.deadline asc nulls last,
                                                   p.evaluation_date desc, p.idempotency_key) <= p.daily_cap - p.used
                  then 'send' else 'daily_cap' end) as verdict,
           case when p.quiet then
             ((case when p.local_now::time < p.quiet_end then p.local_day else p.local_day + 1 end)
               + p.quiet_end) at time zone p.timezone
           end as release_at,
           -- The end of the mentor's local day: a push not delivered by then is dropped by the push service.
           ((p.local_day + 1)::timestamp at time zone p.timezone) as push_until
    from first_pass p
  ),
  upd as (
    update public.notifications n
    set status = case d.verdict when 'send' then 'pending' when 'held' then 'pending'
                                when 'failed' then 'failed' else 'suppressed' end,
        suppressed_reason = case when d.verdict in ('expired', 'no_device', 'daily_cap') then d.verdict end,
        last_error_class = case when d.verdict = 'failed' then 'abandoned' else n.last_error_class end,
        attempts = n.attempts + case when d.verdict = 'send' then 1 else 0 end,
        available_at = case when d.verdict = 'held' then d.release_at else n.available_at end,
        lease_until = case when d.verdict = 'send'
                           then clock_timestamp() + make_interval(secs => p_lease_ms / 1000.0) end,
        push_date = case when d.verdict = 'send' then d.local_day else n.push_date end,
        delivery_run_id = p_run_id
    from decided d
    -- Re-checked on the row's latest version should a late recorder have changed it meanwhile.
    where n.id = d.id and n.status = 'pending' and (n.lease_until is null or n.lease_until < clock_timestamp())
    returning n.id, d.verdict, n.user_id, n.organisation_id, n.scenario, n.data, n.attempts, d.push_until
  )
  select u.id,
         case when u.verdict in ('expired', 'no_device', 'daily_cap') then 'suppressed' else u.verdict end,
         case when u.verdict in ('expired', 'no_device', 'daily_cap') then u.verdict
              when u.verdict = 'failed' then 'abandoned' end,
         u.user_id, u.organisation_id, u.scenario, coalesce(m.locale, 'nb'), coalesce(m.full_name, ''), u.data,
         case when u.verdict = 'send' then
           (select array_agg(t.token order by t.token) from scheduler_source.device_tokens t
            where t.user_id = u.user_id and not t.disabled)
         end,
         u.attempts,
         case when u.verdict = 'send' then u.push_until end
  from upd u
  -- A left join: a mentor gone from the source still gets its decided rows back (a push without a name).
  left join scheduler_source.peer_mentors m on m.id = u.user_id
  order by u.id;
end
$_$;

REVOKE ALL ON FUNCTION scheduler.claim_pushes(p_run_id uuid, p_now timestamp with time zone, p_today date, p_limit integer, p_lease_ms integer, p_max_attempts integer) FROM PUBLIC;
GRANT ALL ON FUNCTION scheduler.claim_pushes(p_run_id uuid, p_now timestamp with time zone, p_today date, p_limit integer, p_lease_ms integer, p_max_attempts integer) TO scenario_scheduler;
