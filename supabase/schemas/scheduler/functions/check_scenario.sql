-- Function scheduler.check_scenario, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.check_scenario(p_what text, p_scenario text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  if not exists (select 1 from scheduler.scenario_config c where c.scenario = p_scenario and c.organisation_id is null) then
    raise exception using errcode = '22023',
      message = pg_catalog.format('%s: unknown scenario %s', p_what, coalesce(pg_catalog.quote_literal(pg_catalog.left(p_scenario, 64)), 'null'));
  end if;
end
$$;

REVOKE ALL ON FUNCTION scheduler.check_scenario(p_what text, p_scenario text) FROM PUBLIC;
