-- Function scheduler.evaluation_modes, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.evaluation_modes(p_date date DEFAULT CURRENT_DATE) RETURNS TABLE(scenario text, mode text, reason text, reconciled_on date, reconcile_by date, due_mentors bigint, waiting_changes bigint)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  -- For operators (task status, task verify): how the next whole-project run of p_date evaluates each
  -- scenario (scheduler.state_mode), the last full evaluation and when the next is due at the latest, the
  -- mentors whose state makes them due by p_date and the changes waiting in the feed.
  select d.scenario, m.mode, m.reason, r.reconciled_on,
         r.reconciled_on + (select o.reconcile_days from scheduler.ops_settings o),
         (select pg_catalog.count(*) from scheduler.mentor_state s where s.next_due <= p_date),
         (select pg_catalog.count(*) from scheduler.mentor_changes c)
  from scheduler.scenario_config d
  cross join lateral scheduler.state_mode(p_date, d.scenario, 1, 1, '') m
  left join scheduler.state_reconciliations r
    on r.scenario = d.scenario and r.slot = '' and r.shards = 1 and r.shard = 1
  where d.organisation_id is null
  order by d.priority desc, d.scenario
$$;

COMMENT ON FUNCTION scheduler.evaluation_modes(p_date date) IS 'Operators: how the next whole-project run evaluates each scenario, incremental or full and why (docs/operations.md).';

REVOKE ALL ON FUNCTION scheduler.evaluation_modes(p_date date) FROM PUBLIC;
