-- Function scheduler.note_mentor_change, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.note_mentor_change(p_user_ids uuid[], p_affected_from date[] DEFAULT NULL::date[]) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
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
    insert into scheduler.mentor_changes as c (user_id, change_seq, affected_from, activities_only, noted_at)
    select p_user_ids[1], pg_catalog.nextval('scheduler.mentor_change_seq'), p_affected_from[1],
           p_affected_from is not null, pg_catalog.now()
    where exists (select 1 from scheduler_source.peer_mentors m where m.id = p_user_ids[1])
    on conflict (user_id) do update
      set change_seq = excluded.change_seq,
          affected_from = least(c.affected_from, excluded.affected_from),
          activities_only = c.activities_only and excluded.activities_only,
          noted_at = excluded.noted_at;
    return;
  end if;
  insert into scheduler.mentor_changes as c (user_id, change_seq, affected_from, activities_only, noted_at)
  select n.user_id, pg_catalog.nextval('scheduler.mentor_change_seq'), n.affected_from, p_affected_from is not null,
         pg_catalog.now()
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
        activities_only = c.activities_only and excluded.activities_only,
        noted_at = excluded.noted_at;
end
$$;

COMMENT ON FUNCTION scheduler.note_mentor_change(p_user_ids uuid[], p_affected_from date[]) IS 'Change feed: notes that these mentors changed (from these activity dates). Called by the app''s triggers in the transaction of its write.';

REVOKE ALL ON FUNCTION scheduler.note_mentor_change(p_user_ids uuid[], p_affected_from date[]) FROM PUBLIC;
GRANT ALL ON FUNCTION scheduler.note_mentor_change(p_user_ids uuid[], p_affected_from date[]) TO scheduler_change_feed;
