-- Function scheduler.cron_field, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.cron_field(p_field text, p_lo integer, p_hi integer) RETURNS integer[]
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $_$
declare
  v_out   integer[] := '{}'::integer[];  -- [lint] typed
  v_part  text;
  v_m     text[];
  v_a     integer;
  v_b     integer;
  v_step  integer;
begin
  foreach v_part in array pg_catalog.string_to_array(p_field, ',') loop
    v_m := pg_catalog.regexp_match(v_part, '^(\*|(\d+)(?:-(\d+))?)(?:/(\d+))?$');
    if v_m is null then
      return null;
    end if;
    if v_m[1] = '*' then
      v_a := p_lo; v_b := p_hi;
    else
      v_a := v_m[2]::integer;
      v_b := coalesce(v_m[3]::integer, case when v_m[4] is null then v_a else p_hi end);
    end if;
    v_step := coalesce(v_m[4]::integer, 1);
    if v_a < p_lo or v_b > p_hi or v_a > v_b or v_step < 1 then
      return null;
    end if;
    v_out := v_out || array(select pg_catalog.generate_series(v_a, v_b, v_step));
  end loop;
  return array(select distinct x from pg_catalog.unnest(v_out) x order by x);
end
$_$;

REVOKE ALL ON FUNCTION scheduler.cron_field(p_field text, p_lo integer, p_hi integer) FROM PUBLIC;
