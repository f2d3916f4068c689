-- Function scheduler.push_templates, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.push_templates() RETURNS TABLE(organisation_id uuid, scenario text, locale text, title text, body text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select c.organisation_id, c.scenario, t.locale, t.tpl ->> 'title', t.tpl ->> 'body'
  from scheduler.scenario_config c
  cross join lateral jsonb_each(
    case when jsonb_typeof(c.params -> 'templates') = 'object' then c.params -> 'templates' else '{}'::jsonb end
  ) t(locale, tpl)
  order by c.organisation_id nulls first, c.scenario, t.locale
$$;

REVOKE ALL ON FUNCTION scheduler.push_templates() FROM PUBLIC;
GRANT ALL ON FUNCTION scheduler.push_templates() TO scenario_scheduler;
