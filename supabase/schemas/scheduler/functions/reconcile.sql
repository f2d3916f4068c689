-- Function scheduler.reconcile, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.reconcile() RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  insert into scheduler.state_invalidations (cause) values ('requested');
  return 'the next checkpoint of every scenario and part runs a full evaluation (a reconciliation) and reports the state it repairs';
end
$$;

COMMENT ON FUNCTION scheduler.reconcile() IS 'On demand: marks the incremental run''s state for a full evaluation (a reconciliation) at the next run of every scenario and part (docs/operations.md).';

REVOKE ALL ON FUNCTION scheduler.reconcile() FROM PUBLIC;
