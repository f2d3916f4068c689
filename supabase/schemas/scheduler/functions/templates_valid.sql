-- Function scheduler.templates_valid, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.templates_valid(p_params jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select case
    when p_params -> 'templates' is null then true
    when jsonb_typeof(p_params -> 'templates') <> 'object' then false
    else not exists (
      select 1 from jsonb_each(p_params -> 'templates') t(locale, tpl)
      where t.locale not in ('nb', 'nn', 'en')
         or jsonb_typeof(t.tpl) <> 'object'
         or coalesce(btrim(t.tpl ->> 'title'), '') = ''
         or coalesce(btrim(t.tpl ->> 'body'), '') = '')
  end
$$;

REVOKE ALL ON FUNCTION scheduler.templates_valid(p_params jsonb) FROM PUBLIC;
