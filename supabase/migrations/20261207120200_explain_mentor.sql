-- `task explain` as the function role: scheduler.explain(mentor, date) needs a mentor id and a date, and the
-- function role may call it; finding the id from a part of a name, and the mentor's "today" when no date is
-- given, read the source contract (scheduler_source), where the role has no privilege. This function does
-- both look-ups, as its owner, and returns no more than they need: ids, names and dates. The role still has
-- no privilege on scheduler_source (docs/security.md).
-- Safe to apply twice.

-- Today's date in the time zone of organisation p_organisation (empty: Europe/Oslo, as
-- scheduler.organisation_slots reads it), or in scheduler.ops_settings.time_zone when PostgreSQL does not know
-- that zone or the organisation is null.
create or replace function scheduler.mentor_today(p_organisation uuid)
returns date
language sql stable set search_path = ''
as $$
  select (pg_catalog.now() at time zone coalesce(
            (select z.name from scheduler_source.organisations o
             join pg_catalog.pg_timezone_names z on z.name = coalesce(nullif(pg_catalog.btrim(o.timezone), ''), 'Europe/Oslo')
             where o.id = p_organisation),
            s.time_zone))::date
  from scheduler.ops_settings s
$$;
revoke all on function scheduler.mentor_today(uuid) from public;

-- The mentors p_mentor names, each with today in their organisation's time zone (scheduler.mentor_today),
-- the evaluation date the hourly job uses for them.
-- p_mentor is a mentor id (one row, with a null name when the source has no such mentor: scheduler.explain
-- then says so), or a part of a full name, case-insensitive: the matching mentors by name, at most 11 (a
-- caller lists ten and says there are more).
create or replace function scheduler.explain_mentor(p_mentor text)
returns table (id uuid, full_name text, today date)
language plpgsql stable security definer set search_path = ''
as $$
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
$$;
comment on function scheduler.explain_mentor(text) is
  'For task explain: the mentors an id or a part of a name names (at most 11), each with today in their organisation''s time zone.';
revoke all on function scheduler.explain_mentor(text) from public;
grant execute on function scheduler.explain_mentor(text) to scenario_scheduler;
