-- The change feed for the members app (docs/source-contract.md, "The change feed"): the same triggers as the
-- reference mapping's, over this app's tables and with the dates its views give. Part of the operator's
-- mapping migration, after members_mapping.sql.

-- Events are timestamps: an event's activity date is its local date in Norway, as in the activities view.
create or replace function public.note_event_changes()
returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform scheduler.note_mentor_change(pg_catalog.array_agg(n.member),
                                         pg_catalog.array_agg((n.happened_at at time zone 'Europe/Oslo')::date))
    from new_rows n;
  elsif tg_op = 'DELETE' then
    perform scheduler.note_mentor_change(pg_catalog.array_agg(o.member),
                                         pg_catalog.array_agg((o.happened_at at time zone 'Europe/Oslo')::date))
    from old_rows o;
  else
    perform scheduler.note_mentor_change(pg_catalog.array_agg(c.member), pg_catalog.array_agg(c.day))
    from ((select o.member, (o.happened_at at time zone 'Europe/Oslo')::date as day from old_rows o
           except all select n.member, (n.happened_at at time zone 'Europe/Oslo')::date from new_rows n)
          union all
          (select n.member, (n.happened_at at time zone 'Europe/Oslo')::date from new_rows n
           except all select o.member, (o.happened_at at time zone 'Europe/Oslo')::date from old_rows o)) c;
  end if;
  return null;
end
$$;

-- Courses: what the certifications view reads (the course row, its member, its validity).
create or replace function public.note_course_changes()
returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform scheduler.note_mentor_change(pg_catalog.array_agg(n.member)) from new_rows n;
  elsif tg_op = 'DELETE' then
    perform scheduler.note_mentor_change(pg_catalog.array_agg(o.member)) from old_rows o;
  else
    perform scheduler.note_mentor_change(pg_catalog.array_agg(c.member))
    from ((select o.id, o.member, o.valid_until from old_rows o except all select n.id, n.member, n.valid_until from new_rows n)
          union all
          (select n.id, n.member, n.valid_until from new_rows n except all select o.id, o.member, o.valid_until from old_rows o)) c;
  end if;
  return null;
end
$$;

-- Members: a new member, or a changed active flag, club or start.
create or replace function public.note_member_changes()
returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform scheduler.note_mentor_change(pg_catalog.array_agg(n.member_uuid)) from new_rows n;
  else
    perform scheduler.note_mentor_change(pg_catalog.array_agg(n.member_uuid))
    from new_rows n join old_rows o on o.member_uuid = n.member_uuid
    where (n.active, n.org, n.started) is distinct from (o.active, o.org, o.started);
  end if;
  return null;
end
$$;
revoke all on function public.note_event_changes(), public.note_course_changes(), public.note_member_changes() from public;

create or replace trigger events_feed_insert after insert on public.events
  referencing new table as new_rows for each statement execute function public.note_event_changes();
create or replace trigger events_feed_update after update on public.events
  referencing old table as old_rows new table as new_rows for each statement execute function public.note_event_changes();
create or replace trigger events_feed_delete after delete on public.events
  referencing old table as old_rows for each statement execute function public.note_event_changes();

create or replace trigger courses_passed_feed_insert after insert on public.courses_passed
  referencing new table as new_rows for each statement execute function public.note_course_changes();
create or replace trigger courses_passed_feed_update after update on public.courses_passed
  referencing old table as old_rows new table as new_rows for each statement execute function public.note_course_changes();
create or replace trigger courses_passed_feed_delete after delete on public.courses_passed
  referencing old table as old_rows for each statement execute function public.note_course_changes();

create or replace trigger members_feed_insert after insert on public.members
  referencing new table as new_rows for each statement execute function public.note_member_changes();
create or replace trigger members_feed_update after update on public.members
  referencing old table as old_rows new table as new_rows for each statement execute function public.note_member_changes();
