-- Function scheduler.answer_summary, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.answer_summary(p_from timestamp with time zone, p_to timestamp with time zone) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $_$
declare
  v text;
begin
  if pg_catalog.to_regclass('net._http_response') is null then
    select case when count(*) > 0 then 'pg_net missing x' || count(*) end into v
    from scheduler.invocations i where i.queued_at >= p_from and i.queued_at < p_to;
    return v;
  end if;
  execute $q$
    select pg_catalog.string_agg(k || ' x' || n, ', ' order by k) from (
      select case when r.id is not null and r.timed_out then 'timeout'
                  when r.id is not null and r.status_code is null then 'connection error'
                  when r.id is not null then r.status_code::text
                  when i.queued_at < now() - interval '6 hours' then 'expired'
                  else 'no answer' end as k, count(*) as n
      from scheduler.invocations i
      left join net._http_response r on r.id = i.request_id and r.created between i.queued_at - interval '1 minute' and i.queued_at + interval '6 hours'
      where i.queued_at >= $1 and i.queued_at < $2
      group by 1) x$q$ into v using p_from, p_to;
  return v;
end
$_$;

REVOKE ALL ON FUNCTION scheduler.answer_summary(p_from timestamp with time zone, p_to timestamp with time zone) FROM PUBLIC;
