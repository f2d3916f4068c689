-- The change feed (docs/source-contract.md, "The change feed"): an optional part of the source contract
-- through which the app tells the scheduler which mentors changed, in the same transaction as its own write.
-- Nothing reads it yet; it is the foundation of an incremental daily run (docs/performance.md, "What an
-- incremental evaluation needs"), which can only skip a mentor if every change to that mentor is noted.
--
-- * scheduler.mentor_changes: one row per changed mentor, upserted. change_seq is taken from a sequence at
--   every note, so a later note always leaves a higher value: a reader that evaluated a mentor at change_seq
--   s deletes the row "where user_id = ... and change_seq = s", and a change noted meanwhile (higher seq)
--   survives for the next run. change_seq is not a commit-order watermark (sequences are handed out before
--   commit), so a reader must never skip rows below a remembered maximum. affected_from is the earliest
--   activity date whose rows changed (a backfill of an old date moves the count and the spells from that date
--   on); null when only the mentor or a certification changed; -infinity when the caller cannot say.
-- * scheduler.note_mentor_change(uuid[], date[]): the only way in. SECURITY DEFINER, so that the app needs no
--   privilege on the table; one call per statement (the reference triggers pass a statement's transition
--   table), one upsert per distinct mentor, in mentor order (two bulk writes lock the feed's rows in the
--   same order, so the feed adds no deadlock between them).
-- * Role scheduler_change_feed: EXECUTE on that one function and USAGE on schema scheduler, nothing else. The
--   reference mapping needs no member (its trigger functions are SECURITY DEFINER, owned by the mapping's
--   role); an app whose triggers run as the writing role, or a backfill job that notes changes itself, grants
--   it to that role. What a member can do, as an attacker: mark mentors that exist in
--   scheduler_source.peer_mentors as changed (unknown ids are dropped, so the feed holds at most one row per
--   mentor) and move their affected date earlier. That costs at most a full evaluation of those mentors, the
--   work every daily run does today. It cannot read the feed, delete a row, lower change_seq or make a date
--   later: a note only ever adds work, it never hides a change. It can hold a mentor's feed row locked for
--   as long as its transaction stays open, delaying other writes of that mentor's rows, as any role that may
--   write the mentor's rows already can.
-- * scheduler.change_feed_coverage() and scheduler.change_feed_installed(): whether the app's tables behind
--   the contract's views have enabled triggers that note changes (for `task verify` and `task status`, which
--   will say whether the incremental or the full run applies).
-- Works with and without pg_net and Vault (it uses neither). Safe to apply twice.

create sequence if not exists scheduler.mentor_change_seq as bigint;

create table if not exists scheduler.mentor_changes (
  user_id       uuid primary key,
  change_seq    bigint not null,
  affected_from date,
  noted_at      timestamptz not null default pg_catalog.now()
);
comment on table scheduler.mentor_changes is
  'Change feed: mentors changed since the scheduler last evaluated them (one row each). Written only by scheduler.note_mentor_change.';
comment on column scheduler.mentor_changes.change_seq is
  'Raised by every note: delete a row only at the change_seq you read (a higher one means a newer change). Not a commit-order watermark.';
comment on column scheduler.mentor_changes.affected_from is
  'Earliest activity date whose rows changed; null: no activity changed (mentor or certification only); -infinity: unknown, all of them.';
-- A note on a mentor already in the feed changes no indexed column: room on the page keeps that update HOT
-- (no new index entry), the common case of a mentor with several activities before the next run.
alter table scheduler.mentor_changes set (fillfactor = 70);
-- Not in an exposed schema; row-level security anyway, so that a grant added by mistake shows nothing.
alter table scheduler.mentor_changes enable row level security;
revoke all on table scheduler.mentor_changes from public;
revoke all on sequence scheduler.mentor_change_seq from public;

-- Notes that the mentors in p_user_ids changed, each from the earliest of its dates in p_affected_from
-- (paired by position; null or a null array: no activity date). Ids that scheduler_source.peer_mentors does
-- not show are dropped: a deleted mentor has nothing left to evaluate, and a caller cannot fill the feed with
-- made-up ids. Returns nothing, so that a caller learns nothing about which ids are mentors.
--
-- force_generic_plan: with the arrays as constants the planner knows their length (unnest's support function)
-- and estimates a custom plan far cheaper than the generic one, so PL/pgSQL would plan the upsert again at
-- every call: about 0.3 ms, which doubled the time of a single-row insert into activities. The generic plan
-- (a hash aggregate, a probe of the mentor by primary key, the upsert) is the right one for one row and for
-- 100,000: measured 0.32 ms against 0.06 ms per call of one mentor.
create or replace function scheduler.note_mentor_change(p_user_ids uuid[], p_affected_from date[] default null)
returns void
language plpgsql volatile security definer set search_path = '' set plan_cache_mode = force_generic_plan
as $$
begin
  if p_affected_from is not null
     and pg_catalog.cardinality(p_affected_from) <> pg_catalog.cardinality(p_user_ids) then
    raise exception using errcode = '22023',
      message = pg_catalog.format('note_mentor_change: %s mentor ids but %s dates; pass one date per id, or none',
                                  pg_catalog.cardinality(p_user_ids), pg_catalog.cardinality(p_affected_from));
  end if;
  -- One mentor (a single-row write, the common case): the same upsert without the grouping and ordering,
  -- whose executor nodes cost about a fifth of the feed's time per single-row insert.
  if pg_catalog.cardinality(p_user_ids) = 1 then
    insert into scheduler.mentor_changes as c (user_id, change_seq, affected_from, noted_at)
    select p_user_ids[1], pg_catalog.nextval('scheduler.mentor_change_seq'), p_affected_from[1], pg_catalog.now()
    where exists (select 1 from scheduler_source.peer_mentors m where m.id = p_user_ids[1])
    on conflict (user_id) do update
      set change_seq = excluded.change_seq,
          affected_from = least(c.affected_from, excluded.affected_from),
          noted_at = excluded.noted_at;
    return;
  end if;
  insert into scheduler.mentor_changes as c (user_id, change_seq, affected_from, noted_at)
  select n.user_id, pg_catalog.nextval('scheduler.mentor_change_seq'), n.affected_from, pg_catalog.now()
  from (select u.user_id, pg_catalog.min(u.affected_from) as affected_from
        -- unnest of two arrays is FROM-clause syntax, which cannot be schema-qualified (pg_catalog is
        -- searched first anyway).
        from unnest(p_user_ids, p_affected_from) as u(user_id, affected_from)
        where u.user_id is not null
        group by u.user_id) n
  where exists (select 1 from scheduler_source.peer_mentors m where m.id = n.user_id)
  order by n.user_id
  on conflict (user_id) do update
    set change_seq = excluded.change_seq,
        -- least() (an expression, not a function: not qualified) ignores nulls: a note without a date keeps the
        -- pending date, and none makes it later.
        affected_from = least(c.affected_from, excluded.affected_from),
        noted_at = excluded.noted_at;
end
$$;
revoke all on function scheduler.note_mentor_change(uuid[], date[]) from public;
comment on function scheduler.note_mentor_change(uuid[], date[]) is
  'Change feed: notes that these mentors changed (from these activity dates). Called by the app''s triggers in the transaction of its write.';

do $$
begin
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'scheduler_change_feed') then
    create role scheduler_change_feed nologin;
  end if;
exception
  -- Another session created it between the check and the create (roles are cluster-wide).
  when duplicate_object or unique_violation then null;
end
$$;
comment on role scheduler_change_feed is
  'Scenario scheduler change feed: may call scheduler.note_mentor_change, nothing else. Grant it to an app role whose triggers run as itself.';
grant usage on schema scheduler to scheduler_change_feed;
grant execute on function scheduler.note_mentor_change(uuid[], date[]) to scheduler_change_feed;

-- The app's tables behind one contract view: the relations its rewrite rule reads, followed through views.
create or replace function scheduler.source_tables(p_view regclass)
returns table (base_table regclass)
language sql stable set search_path = ''
as $$
  with recursive reads(rel) as (
    select p_view::oid
    union
    select d.refobjid
    from reads r
    join pg_catalog.pg_rewrite w on w.ev_class = r.rel
    join pg_catalog.pg_depend d on d.classid = 'pg_catalog.pg_rewrite'::regclass and d.objid = w.oid
                                and d.refclassid = 'pg_catalog.pg_class'::regclass and d.refobjid <> r.rel
  )
  select distinct r.rel::regclass
  from reads r join pg_catalog.pg_class c on c.oid = r.rel
  where c.relkind in ('r', 'p')
$$;
revoke all on function scheduler.source_tables(regclass) from public;

-- Which events of which app table the feed must hear about: every write that changes what the rules read of
-- activities and certifications, and a new mentor or a changed mentor (status, organisation, joined_on). A
-- deleted mentor needs no note (nothing left to evaluate). A table counts an event as covered by an enabled
-- trigger whose function calls scheduler.note_mentor_change itself (its source names it).
create or replace function scheduler.change_feed_coverage()
returns table (source_view text, base_table text, missing_events text[])
language sql stable set search_path = ''
as $$
  with needed(source_view, events) as (
    values ('activities', array['INSERT', 'UPDATE', 'DELETE']),
           ('certifications', array['INSERT', 'UPDATE', 'DELETE']),
           ('peer_mentors', array['INSERT', 'UPDATE'])
  ),
  tables as (
    select n.source_view, n.events, t.base_table
    from needed n
    left join lateral scheduler.source_tables(pg_catalog.to_regclass('scheduler_source.' || n.source_view)) t on true
  ),
  noted as (
    select tg.tgrelid, e.event
    from pg_catalog.pg_trigger tg
    join pg_catalog.pg_proc p on p.oid = tg.tgfoid
    cross join lateral (values (4, 'INSERT'), (8, 'DELETE'), (16, 'UPDATE')) e(bit, event)
    where not tg.tgisinternal and tg.tgenabled <> 'D'
      and tg.tgtype::integer & e.bit <> 0
      and p.prosrc like '%scheduler.note_mentor_change%'
  )
  -- A view without a table (still the placeholder) misses every event.
  select t.source_view, t.base_table::text,
         array(select ev from pg_catalog.unnest(t.events) ev
               where not exists (select 1 from noted x where x.tgrelid = t.base_table and x.event = ev))
  from tables t
  order by 1, 2
$$;
revoke all on function scheduler.change_feed_coverage() from public;
comment on function scheduler.change_feed_coverage() is
  'Change feed: per contract view and app table behind it, the writes no enabled trigger notes (empty: covered).';

-- Whether the feed is installed: every table behind activities, certifications and peer_mentors notes
-- every write the rules depend on. Until then only the full evaluation is correct.
create or replace function scheduler.change_feed_installed()
returns boolean
language sql stable set search_path = ''
as $$
  select pg_catalog.bool_and(c.base_table is not null and pg_catalog.cardinality(c.missing_events) = 0)
  from scheduler.change_feed_coverage() c
$$;
revoke all on function scheduler.change_feed_installed() from public;
comment on function scheduler.change_feed_installed() is
  'Change feed: true when every app table behind the contract''s activities, certifications and peer_mentors notes its changes.';
