-- Function scheduler.effective_config, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.effective_config(p_scenario text) RETURNS TABLE(organisation_id uuid, enabled boolean, params jsonb, cooldown_days integer, priority integer)
    LANGUAGE sql STABLE
    AS $$
  select o.id,
         coalesce(oc.enabled, d.enabled),
         d.params || coalesce(oc.params, '{}'::jsonb),
         coalesce(oc.cooldown_days, d.cooldown_days),
         coalesce(oc.priority, d.priority)
  from scheduler_source.organisations o
  join scheduler.scenario_config d on d.scenario = p_scenario and d.organisation_id is null
  left join scheduler.scenario_config oc on oc.scenario = p_scenario and oc.organisation_id = o.id
$$;

COMMENT ON FUNCTION scheduler.effective_config(p_scenario text) IS 'No fixed search_path on purpose: inlined into evaluate_batch (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.effective_config(p_scenario text) FROM PUBLIC;
