-- Evaluation over the source contract (20261201135000_source_contract.sql), for projects migrated before the
-- contract existed (a fresh project's earlier migrations already read scheduler_source.*): effective_config
-- reads scheduler_source.organisations instead of the app's table. The other evaluation functions that read
-- the app are redefined over the contract by the migrations after this one, which replace them anyway:
-- remaining_mentors and evaluate_batch by 20261201140000_sharded_fanout.sql (where evaluate_batch counts as
-- evaluated only the batch's mentors of organisations where the scenario is enabled), the three candidate
-- functions by 20261201150000_reengagement_policy.sql.
-- Safe to apply twice (create or replace).

create or replace function scheduler.effective_config(p_scenario text)
returns table (organisation_id uuid, enabled boolean, params jsonb, cooldown_days integer, priority integer)
language sql stable
as $$
  select o.id,
         coalesce(oc.enabled, d.enabled),
         d.params || coalesce(oc.params, '{}'::jsonb),
         coalesce(oc.cooldown_days, d.cooldown_days),
         coalesce(oc.priority, d.priority)
  from scheduler_source.organisations o
  join scheduler.scenario_config d on d.scenario = p_scenario and d.organisation_id is null
  left join scheduler.scenario_config oc on oc.scenario = p_scenario and oc.organisation_id = o.id
$$;

revoke all on function scheduler.effective_config(text) from public;
