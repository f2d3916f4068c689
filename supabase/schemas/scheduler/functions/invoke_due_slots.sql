-- Function scheduler.invoke_due_slots, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.invoke_due_slots(p_job text DEFAULT 'scenario-scheduler-hourly'::text, p_shards integer DEFAULT 1, p_now timestamp with time zone DEFAULT now()) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  r       record;
  n       integer := 0;
  v_local timestamp;
  v_hour  integer;
begin
  if p_shards is null or p_shards < 1 or p_shards > 64 then
    raise exception 'invoke_due_slots: shards must be between 1 and 64, got %', coalesce(p_shards::text, 'null')
      using errcode = '22023';
  end if;
  if not exists (select 1 from scheduler.organisation_slots()) then
    v_hour := coalesce((select c.send_hour from scheduler.delivery_config c where c.organisation_id is null), 8);
    v_local := p_now at time zone 'Europe/Oslo';
    if v_local::time >= pg_catalog.make_time(v_hour, 0, 0)
       and not scheduler.slot_done(v_local::date, 'Europe/Oslo@' || pg_catalog.lpad(v_hour::text, 2, '0')) then
      perform scheduler.invoke(null, p_job, false, p_shards, 'Europe/Oslo@' || pg_catalog.lpad(v_hour::text, 2, '0'),
                               v_local::date);
      n := p_shards;
    end if;
    return n;
  end if;
  for r in select * from scheduler.due_slots(p_now) d order by d.slot loop
    perform scheduler.invoke(null, p_job, false, p_shards, r.slot, r.local_date);
    n := n + p_shards;
  end loop;
  return n;
end
$$;

COMMENT ON FUNCTION scheduler.invoke_due_slots(p_job text, p_shards integer, p_now timestamp with time zone) IS 'Queues one signed request per due slot (scheduler.due_slots), p_shards per slot; returns how many were queued.';

REVOKE ALL ON FUNCTION scheduler.invoke_due_slots(p_job text, p_shards integer, p_now timestamp with time zone) FROM PUBLIC;
