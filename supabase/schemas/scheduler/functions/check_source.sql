-- Function scheduler.check_source, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.check_source() RETURNS void
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_problems text;
begin
  select pg_catalog.string_agg(p, '; ') into v_problems from scheduler.source_problems() p;
  if v_problems is not null then
    raise exception using errcode = 'SC422', message = 'source contract does not hold: ' || v_problems,
      hint = 'map scheduler_source onto the app''s tables: docs/source-contract.md';
  end if;
  -- Planned only now that the view is known to exist with its columns.
  if not exists (select 1 from scheduler_source.peer_mentors m where m.status = 'active') then
    raise exception using errcode = 'SC422',
      message = 'source contract: scheduler_source.peer_mentors yields no active mentor (still the empty placeholder, or a mapping that selects nobody)',
      hint = 'map scheduler_source onto the app''s tables: docs/source-contract.md';
  end if;
end
$$;

REVOKE ALL ON FUNCTION scheduler.check_source() FROM PUBLIC;
GRANT ALL ON FUNCTION scheduler.check_source() TO scenario_scheduler;
