-- Function scheduler.holdout_config, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.holdout_config(p_scenario text) RETURNS TABLE(organisation_id uuid, holdout_percent integer)
    LANGUAGE sql STABLE
    AS $$
  -- Apart from effective_config on purpose: the rules' configuration and the experiment's are read by
  -- different steps (the candidates, and the classification that decides who is held out).
  select o.id, coalesce(oc.holdout_percent, d.holdout_percent, 0)
  from scheduler_source.organisations o
  join scheduler.scenario_config d on d.scenario = p_scenario and d.organisation_id is null
  left join scheduler.scenario_config oc on oc.scenario = p_scenario and oc.organisation_id = o.id
$$;

COMMENT ON FUNCTION scheduler.holdout_config(p_scenario text) IS 'Per organisation, the share (0-20 %) of its mentors held out of the scenario. No fixed search_path on purpose: inlined into evaluate_batch and explain (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.holdout_config(p_scenario text) FROM PUBLIC;
