-- Function scheduler.delivery_backlog_unchecked, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.delivery_backlog_unchecked(p_now timestamp with time zone) RETURNS TABLE(deliverable bigint, waiting bigint)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select count(*) filter (where (n.lease_until is null or n.lease_until < clock_timestamp())
                            and (n.available_at is null or n.available_at <= p_now)),
         count(*) filter (where not ((n.lease_until is null or n.lease_until < clock_timestamp())
                                     and (n.available_at is null or n.available_at <= p_now)))
  from public.notifications n
  where n.status = 'pending'
$$;

REVOKE ALL ON FUNCTION scheduler.delivery_backlog_unchecked(p_now timestamp with time zone) FROM PUBLIC;
