-- Function scheduler.record_deliveries, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.record_deliveries(p_run_id uuid, p_results jsonb, p_disable_tokens text[]) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  if p_results is not null and pg_catalog.jsonb_typeof(p_results) <> 'array' then
    raise exception using errcode = '22023', message = 'record_deliveries: results must be a JSON array';
  end if;
  perform scheduler.check_range('record_deliveries: results', coalesce(pg_catalog.jsonb_array_length(p_results), 0), 0, 100000);
  perform scheduler.check_range('record_deliveries: results size in bytes',
                                pg_catalog.octet_length(coalesce(p_results, '[]'::jsonb)::text), 0, 16777216);
  perform scheduler.check_range('record_deliveries: tokens to disable',
                                coalesce(pg_catalog.cardinality(p_disable_tokens), 0), 0, 100000);
  return scheduler.record_deliveries_unchecked(p_run_id, p_results, p_disable_tokens);
end
$$;

REVOKE ALL ON FUNCTION scheduler.record_deliveries(p_run_id uuid, p_results jsonb, p_disable_tokens text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION scheduler.record_deliveries(p_run_id uuid, p_results jsonb, p_disable_tokens text[]) TO scenario_scheduler;
