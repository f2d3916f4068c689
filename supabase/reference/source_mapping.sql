-- The source contract (docs/source-contract.md) mapped onto the reference schema (app_schema.sql).
-- NOT a migration of the scheduler: an operator's own migration like this one replaces the placeholder views
-- that the scheduler's migrations create. Here every view is a plain select of one table, so the planner
-- inlines it (the batches keep their index scans) and device_tokens stays updatable (the scheduler disables
-- tokens the push service reports dead through it).
-- Safe to apply twice (create or replace keeps each view's columns and types, which the contract fixes).

create or replace view scheduler_source.organisations as
  select o.id, o.name, o.timezone
  from public.organisations o;

create or replace view scheduler_source.peer_mentors as
  select m.id, m.organisation_id, m.full_name, m.status, m.locale, m.joined_on
  from public.peer_mentors m;

create or replace view scheduler_source.activities as
  select a.user_id, a.activity_date
  from public.activities a;

create or replace view scheduler_source.certifications as
  select c.id, c.user_id, c.name, c.expires_at
  from public.certifications c;

create or replace view scheduler_source.device_tokens as
  select t.user_id, t.token, t.platform, t.disabled
  from public.device_tokens t;

-- The change feed (docs/source-contract.md, "The change feed"): every write that changes what the rules read
-- notes its mentors, in the same transaction, through scheduler.note_mentor_change. Statement-level triggers
-- with transition tables: one call per statement whatever its size (a bulk insert of 100,000 activities is
-- one grouped upsert, not 100,000), and only rows whose rule-relevant columns changed are noted (an update of
-- an activity's kind notes nothing). The trigger functions are SECURITY DEFINER, owned by this mapping's role,
-- so the app's roles need no privilege in schema scheduler; nobody else may execute them (a trigger function
-- cannot be called directly, and attaching it to a table of one's own needs EXECUTE).

-- Activities: the rules read each mentor's multiset of activity dates (the count, the latest, the spells).
-- The rows that left it (old minus new) and the rows that entered it (new minus old) are the change: an
-- activity moved to another mentor notes both mentors, a date moved notes the earlier of the two dates.
create or replace function public.note_activity_changes()
returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform scheduler.note_mentor_change(pg_catalog.array_agg(n.user_id), pg_catalog.array_agg(n.activity_date))
    from new_rows n;
  elsif tg_op = 'DELETE' then
    perform scheduler.note_mentor_change(pg_catalog.array_agg(o.user_id), pg_catalog.array_agg(o.activity_date))
    from old_rows o;
  else
    perform scheduler.note_mentor_change(pg_catalog.array_agg(c.user_id), pg_catalog.array_agg(c.activity_date))
    from ((select o.user_id, o.activity_date from old_rows o except all select n.user_id, n.activity_date from new_rows n)
          union all
          (select n.user_id, n.activity_date from new_rows n except all select o.user_id, o.activity_date from old_rows o)) c;
  end if;
  return null;
end
$$;

-- Certifications: the rules read (id, mentor, expiry date); no activity date is affected.
create or replace function public.note_certification_changes()
returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform scheduler.note_mentor_change(pg_catalog.array_agg(n.user_id)) from new_rows n;
  elsif tg_op = 'DELETE' then
    perform scheduler.note_mentor_change(pg_catalog.array_agg(o.user_id)) from old_rows o;
  else
    perform scheduler.note_mentor_change(pg_catalog.array_agg(c.user_id))
    from ((select o.id, o.user_id, o.expires_at from old_rows o except all select n.id, n.user_id, n.expires_at from new_rows n)
          union all
          (select n.id, n.user_id, n.expires_at from new_rows n except all select o.id, o.user_id, o.expires_at from old_rows o)) c;
  end if;
  return null;
end
$$;

-- Mentors: a new mentor, or a changed status, organisation or joined_on (the inactivity clock of a mentor
-- without activities). A deleted mentor needs no note: nothing is left to evaluate.
create or replace function public.note_mentor_changes()
returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform scheduler.note_mentor_change(pg_catalog.array_agg(n.id)) from new_rows n;
  else
    perform scheduler.note_mentor_change(pg_catalog.array_agg(n.id))
    from new_rows n join old_rows o on o.id = n.id
    where (n.status, n.organisation_id, n.joined_on) is distinct from (o.status, o.organisation_id, o.joined_on);
  end if;
  return null;
end
$$;

-- Nobody executes them but their owner (Supabase's default privileges grant new functions in public to its
-- API roles; a role with EXECUTE and a temporary table of its own could attach them to it).
do $$
declare
  r text;
begin
  revoke all on function public.note_activity_changes(), public.note_certification_changes(),
    public.note_mentor_changes() from public;
  for r in select rolname from pg_catalog.pg_roles where rolname in ('anon', 'authenticated', 'service_role') loop
    execute pg_catalog.format('revoke all on function public.note_activity_changes(), public.note_certification_changes(), public.note_mentor_changes() from %I', r);
  end loop;
end
$$;

-- Transition tables allow one event per trigger, hence one trigger per event.
create or replace trigger activities_feed_insert after insert on public.activities
  referencing new table as new_rows for each statement execute function public.note_activity_changes();
create or replace trigger activities_feed_update after update on public.activities
  referencing old table as old_rows new table as new_rows for each statement execute function public.note_activity_changes();
create or replace trigger activities_feed_delete after delete on public.activities
  referencing old table as old_rows for each statement execute function public.note_activity_changes();

create or replace trigger certifications_feed_insert after insert on public.certifications
  referencing new table as new_rows for each statement execute function public.note_certification_changes();
create or replace trigger certifications_feed_update after update on public.certifications
  referencing old table as old_rows new table as new_rows for each statement execute function public.note_certification_changes();
create or replace trigger certifications_feed_delete after delete on public.certifications
  referencing old table as old_rows for each statement execute function public.note_certification_changes();

create or replace trigger peer_mentors_feed_insert after insert on public.peer_mentors
  referencing new table as new_rows for each statement execute function public.note_mentor_changes();
create or replace trigger peer_mentors_feed_update after update on public.peer_mentors
  referencing old table as old_rows new table as new_rows for each statement execute function public.note_mentor_changes();
