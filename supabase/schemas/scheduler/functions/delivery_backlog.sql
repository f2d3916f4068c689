-- Function scheduler.delivery_backlog, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.delivery_backlog(p_now timestamp with time zone) RETURNS TABLE(deliverable bigint, waiting bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform scheduler.check_time('delivery_backlog', p_now);
  return query select * from scheduler.delivery_backlog_unchecked(p_now);
end
$$;

REVOKE ALL ON FUNCTION scheduler.delivery_backlog(p_now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION scheduler.delivery_backlog(p_now timestamp with time zone) TO scenario_scheduler;
