-- Function scheduler.record_deliveries_unchecked, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.record_deliveries_unchecked(p_run_id uuid, p_results jsonb, p_disable_tokens text[]) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
declare
  v_recorded integer;
begin
  -- Dead tokens are disabled through the contract's view (the one write the scheduler makes to the app). A
  -- view that is not updatable (no single-table mapping, no INSTEAD OF trigger) leaves them enabled: the
  -- results are recorded all the same, with a warning in the database log. Dynamic SQL: whether the view is
  -- updatable depends on the operator's mapping, known at run time only (the placeholder is not, and a
  -- constant statement would be planned against it by a static checker such as plpgsql_check).
  if coalesce(pg_catalog.cardinality(p_disable_tokens), 0) > 0 then
    begin
      execute pg_catalog.format('update %I.%I t set disabled = true where t.token = any($1) and not t.disabled',
                                'scheduler_source', 'device_tokens')
        using p_disable_tokens;
    exception when object_not_in_prerequisite_state or feature_not_supported or wrong_object_type then
      raise warning 'scheduler: % dead device token(s) left enabled: scheduler_source.device_tokens is not updatable (%)',
        pg_catalog.cardinality(p_disable_tokens), sqlerrm;
    end;
  end if;

  with r as (
    select * from jsonb_to_recordset(coalesce(p_results, '[]'::jsonb))
      as x(id bigint, outcome text, error_class text, retry_at timestamptz)
  ),
  upd as (
    update public.notifications n
    set status = case r.outcome when 'sent' then 'sent' when 'failed' then 'failed' else 'pending' end,
        sent_at = case when r.outcome = 'sent' then now() else n.sent_at end,
        last_error_class = case when r.outcome in ('failed', 'retry') then r.error_class else n.last_error_class end,
        available_at = case when r.outcome = 'retry' then r.retry_at else n.available_at end,
        attempts = n.attempts - case when r.outcome = 'release' then 1 else 0 end,
        push_date = case when r.outcome = 'release' then null else n.push_date end,
        lease_until = null
    from r
    where n.id = r.id and n.delivery_run_id = p_run_id and n.status = 'pending' and n.lease_until is not null
      and r.outcome in ('sent', 'failed', 'retry', 'release')
    returning 1
  )
  select count(*)::integer into v_recorded from upd;
  return v_recorded;
end
$_$;

REVOKE ALL ON FUNCTION scheduler.record_deliveries_unchecked(p_run_id uuid, p_results jsonb, p_disable_tokens text[]) FROM PUBLIC;
