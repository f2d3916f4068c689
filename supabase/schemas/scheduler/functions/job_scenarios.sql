-- Function scheduler.job_scenarios, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.job_scenarios(p_command text) RETURNS text[]
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
  v_list text;
begin
  if p_command !~* 'scheduler\.invoke(_due_slots)?\s*\(' then  -- [local time] or the hourly job's
    return null;
  end if;
  v_list := (pg_catalog.regexp_match(p_command, 'scheduler\.invoke\s*\(\s*(?:scenarios\s*=>\s*)?array\s*\[([^\]]*)\]', 'i'))[1];
  if v_list is null then
    return array(select c.scenario from scheduler.scenario_config c where c.organisation_id is null
                 order by c.priority desc, c.scenario);
  end if;
  return array(select m[1] from pg_catalog.regexp_matches(v_list, '''([^'']*)''', 'g') m);
end
$$;

REVOKE ALL ON FUNCTION scheduler.job_scenarios(p_command text) FROM PUBLIC;
