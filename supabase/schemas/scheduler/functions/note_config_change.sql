-- Function scheduler.note_config_change, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.note_config_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  -- The state's due dates were computed under the old configuration (thresholds, rungs, levels, enabled,
  -- cooldowns; a send hour moves organisations between slots): the next checkpoints run full.
  insert into scheduler.state_invalidations (cause) values ('configuration');
  return null;
end
$$;

COMMENT ON FUNCTION scheduler.note_config_change() IS 'Trigger on scenario_config and delivery_config: a configuration change invalidates the incremental run''s state.';

REVOKE ALL ON FUNCTION scheduler.note_config_change() FROM PUBLIC;
