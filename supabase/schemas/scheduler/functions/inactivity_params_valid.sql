-- Function scheduler.inactivity_params_valid, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.inactivity_params_valid(p_params jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $_$
  select not exists (
    select 1
    from (values ('inactivity_days', 1), ('repeat_every_days', 1), ('max_repeats', 0)) k(key, lowest)
    where p_params ? k.key
      and (pg_catalog.jsonb_typeof(p_params -> k.key) <> 'number'
           or (p_params ->> k.key) !~ '^[0-9]{1,4}$'
           or (p_params ->> k.key)::integer not between k.lowest and 3650))
$_$;

REVOKE ALL ON FUNCTION scheduler.inactivity_params_valid(p_params jsonb) FROM PUBLIC;
