-- Function scheduler.state_mode, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.state_mode(p_date date, p_scenario text, p_shard integer, p_shards integer, p_slot text) RETURNS TABLE(mode text, reason text, state_version bigint)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  -- Which evaluation a checkpoint (date, scenario, part) runs, decided once at its first batch: incremental
  -- only while the change feed covers every write and this scenario and part had a full evaluation under the
  -- current state version (no configuration change, no reconcile() since) within reconcile_days; full otherwise.
  -- state_version is the version the evaluation runs under (recorded with its reconciliation).
  select case when r.mode is null then 'full' else r.mode end, r.reason, v.version
  from (select coalesce(pg_catalog.max(i.version), 0) as version,
               pg_catalog.max(i.version) filter (where i.cause = 'configuration') as configured
        from scheduler.state_invalidations i) v
  left join scheduler.state_reconciliations sr
    on sr.scenario = p_scenario and sr.slot = p_slot and sr.shards = p_shards and sr.shard = p_shard
  cross join lateral (
    -- A scenario added without a *_due function in scheduler.due_dates (docs/architecture.md, "Adding a
    -- scenario") has no due dates to trust: always full.
    select case when p_scenario not in ('inactivity', 'milestone', 'certification_expiry') then 'no_due_rule'
                when not coalesce(scheduler.change_feed_installed(), false) then 'no_feed'
                when sr.scenario is null then 'never_reconciled'
                -- An earlier date than one already evaluated (a backfill): the state speaks of the later date.
                when exists (select 1 from scheduler.checkpoints c
                             where c.scenario = p_scenario and c.evaluation_date > p_date) then 'earlier_date'
                when v.configured > sr.state_version then 'configuration_changed'
                when v.version > sr.state_version then 'requested'
                when sr.reconciled_on <= p_date - (select o.reconcile_days from scheduler.ops_settings o) then 'reconcile_due'
                else 'state_valid'
           end as reason
  ) why
  cross join lateral (select case when why.reason = 'state_valid' then 'incremental' else 'full' end as mode, why.reason) r
$$;

COMMENT ON FUNCTION scheduler.state_mode(p_date date, p_scenario text, p_shard integer, p_shards integer, p_slot text) IS 'Incremental run: which evaluation a checkpoint runs and why (docs/architecture.md, "The incremental daily run").';

REVOKE ALL ON FUNCTION scheduler.state_mode(p_date date, p_scenario text, p_shard integer, p_shards integer, p_slot text) FROM PUBLIC;
