-- Function scheduler.continue_partial, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.continue_partial(p_max integer DEFAULT NULL::integer) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  r record;
  n integer := 0;
begin
  if p_max is not null and (p_max < 0 or p_max > 100) then
    raise exception 'continue_partial: p_max must be between 0 and 100, got %', p_max using errcode = '22023';
  end if;
  -- One caller at a time: a second call sees the first one's requests as waiting, and queues nothing twice.
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('scheduler.continue_partial'));
  -- The same request as the part's runs (date, slot, shards, scenarios), so that each resumes from its
  -- checkpoints, through scheduler.invoke() and all its guards (Vault, signature, pg_net's tables); named
  -- by the job, so that the function's report says cron:scheduler-continue and the bound can count it.
  for r in select * from scheduler.partial_parts(pg_catalog.now(), p_max) p where p.state = 'continue' loop
    perform scheduler.invoke(r.scenarios, 'scheduler-continue', false, r.shards, nullif(r.slot, ''), r.evaluation_date);
    n := n + r.shards;
  end loop;
  return n;
end
$$;

COMMENT ON FUNCTION scheduler.continue_partial(p_max integer) IS 'Queues a continuation (the same request, signed, through scheduler.invoke) for each part of a run that answered partial and may be continued now (scheduler.partial_parts: no lease, no request waiting, not failing twice, under the bound p_max or ops_settings.continue_max); returns how many requests it queued. Run every minute by the cron job scheduler-continue.';

REVOKE ALL ON FUNCTION scheduler.continue_partial(p_max integer) FROM PUBLIC;
