-- Function scheduler.evaluation_mode, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.evaluation_mode(p_date date, p_scenario text, p_shard integer, p_shards integer, p_slot text) RETURNS TABLE(mode text, reason text, state_repairs integer)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform scheduler.check_date('evaluation_mode', p_date);
  perform scheduler.check_scenario('evaluation_mode', p_scenario);
  perform scheduler.check_shard('evaluation_mode', p_shard, p_shards);
  perform scheduler.check_slot('evaluation_mode', p_slot);
  -- The checkpoint's, once its first batch decided it; otherwise (a dry run records nothing) decided now,
  -- which reads the catalog (change_feed_installed): only then.
  return query
  select c.mode, c.mode_reason, c.state_repairs
  from scheduler.checkpoints c
  where c.evaluation_date = p_date and c.scenario = p_scenario and c.slot = p_slot
    and c.shards = p_shards and c.shard = p_shard and c.mode is not null;
  if not found then
    return query
    select m.mode, m.reason, 0 from scheduler.state_mode(p_date, p_scenario, p_shard, p_shards, p_slot) m;
  end if;
end
$$;

COMMENT ON FUNCTION scheduler.evaluation_mode(p_date date, p_scenario text, p_shard integer, p_shards integer, p_slot text) IS 'The mode a checkpoint ran in (incremental or full), why, and the state repairs its full evaluation counted: for the run''s report.';

REVOKE ALL ON FUNCTION scheduler.evaluation_mode(p_date date, p_scenario text, p_shard integer, p_shards integer, p_slot text) FROM PUBLIC;
GRANT ALL ON FUNCTION scheduler.evaluation_mode(p_date date, p_scenario text, p_shard integer, p_shards integer, p_slot text) TO scenario_scheduler;
