-- Function scheduler.explain_mentor, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.explain_mentor(p_mentor text) RETURNS TABLE(id uuid, full_name text, today date)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $_$
declare
  v_mentor text := pg_catalog.btrim(p_mentor);
begin
  if v_mentor is null or v_mentor = '' then
    raise exception using errcode = '22023', message = 'explain_mentor: a mentor id or a part of a name is required';
  end if;
  perform scheduler.check_range('explain_mentor: the length of the mentor''s id or name', pg_catalog.length(v_mentor), 1, 200);
  if v_mentor ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    return query
      select v_mentor::uuid, m.full_name::text, scheduler.mentor_today(m.organisation_id)
      from (select 1) one left join scheduler_source.peer_mentors m on m.id = v_mentor::uuid;
  else
    return query
      select m.id, m.full_name::text, scheduler.mentor_today(m.organisation_id)
      from scheduler_source.peer_mentors m
      where m.full_name ilike '%' || v_mentor || '%'
      order by m.full_name, m.id
      limit 11;
  end if;
end
$_$;

COMMENT ON FUNCTION scheduler.explain_mentor(p_mentor text) IS 'For task explain: the mentors an id or a part of a name names (at most 11), each with today in their organisation''s time zone.';

REVOKE ALL ON FUNCTION scheduler.explain_mentor(p_mentor text) FROM PUBLIC;
GRANT ALL ON FUNCTION scheduler.explain_mentor(p_mentor text) TO scenario_scheduler;
