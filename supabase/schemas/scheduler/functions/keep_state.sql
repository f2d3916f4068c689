-- Function scheduler.keep_state, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.keep_state(p_scenario text, p_date date, p_after uuid, p_last uuid, p_ids uuid[], p_orgs uuid[], p_count_repairs boolean) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $_$
declare
  v_repairs integer;
begin
  -- After a batch's notifications, in its transaction: the scenario's due date of each mentor the batch
  -- evaluated (the key range (p_after, p_last], or of it the ids p_ids in an incremental batch), and the
  -- change feed's rows of those mentors deleted at the change_seq read (a change noted meanwhile has a higher
  -- one and stays for the next run). Written only where something moves (a new mentor, a due date that
  -- changed, a change read), so that an incremental run writes in proportion to its due mentors and a full
  -- one to what changed. A change read by one scenario makes the other scenarios' due dates p_date: they
  -- evaluate the mentor too, today or at their next run. An incremental batch's ids include mentors of the
  -- slot that are no longer active (a change noted): their change is read and their due date set to never.
  -- A state written for a later date is left alone, and its feed row too (p_date is a backfill for it).
  -- Returns the repairs when asked (a reconciliation): mentors with no change noted whose stored due date was
  -- later than the one computed now, i.e. the state was wrong. EXECUTE: planned with the batch's values
  -- ($1 p_scenario, $2 p_date, $3 p_after, $4 p_last, $5 p_ids, $6 p_orgs, $7 p_count_repairs), because a
  -- generic plan cannot know how many ids an incremental batch has: it expected one row and joined the
  -- configuration in a loop per mentor (123 ms against 34 ms, planning 7 ms, for 5,000 ids at 100k mentors).
  execute $sql$
  with evaluated as (
    select w.id from scheduler.walk($3, $4, $6) w where $5 is null
    union all
    select m.id
    from pg_catalog.unnest($5) i(id)
    cross join lateral (select m.id, m.organisation_id from scheduler_source.peer_mentors m where m.id = i.id offset 0) m
    where $5 is not null and ($6 is null or m.organisation_id = any ($6))
  ),
  due as (
    select d.user_id, min(d.due) as due
    from scheduler.due_dates($1, $2, $3, $4, $5) d
    group by d.user_id
  ),
  seen as (
    select e.id as user_id, coalesce(d.due, 'infinity'::date) as due, f.change_seq, s.user_id is not null as known,
           case $1 when 'inactivity' then s.inactivity_due
                           when 'milestone' then s.milestone_due
                           else s.certification_due end as stored
    from evaluated e
    left join due d on d.user_id = e.id
    -- A probe per evaluated mentor (offset 0 keeps it one): a hash of the whole state or feed per batch
    -- would grow with the project, not with the batch.
    left join lateral (select f.change_seq from scheduler.mentor_changes f where f.user_id = e.id offset 0) f on true
    left join lateral (select s.* from scheduler.mentor_state s where s.user_id = e.id offset 0) s on true
    where s.evaluated_on is null or s.evaluated_on <= $2
  ),
  consumed as (
    delete from scheduler.mentor_changes c
    using seen x
    where c.user_id = x.user_id and c.change_seq = x.change_seq
  ),
  written as (
    -- The other scenarios' columns: $2 for a new mentor or a change read (due now), 'infinity' otherwise
    -- (least() below keeps the stored date).
    insert into scheduler.mentor_state as s (user_id, inactivity_due, milestone_due, certification_due, evaluated_on)
    select x.user_id,
           case when $1 = 'inactivity' then x.due when x.known and x.change_seq is null then 'infinity' else $2 end,
           case when $1 = 'milestone' then x.due when x.known and x.change_seq is null then 'infinity' else $2 end,
           case when $1 = 'certification_expiry' then x.due when x.known and x.change_seq is null then 'infinity' else $2 end,
           $2
    from seen x
    where not x.known or x.stored is distinct from x.due or x.change_seq is not null
    on conflict (user_id) do update
    set inactivity_due = case when $1 = 'inactivity' then excluded.inactivity_due
                              else least(s.inactivity_due, excluded.inactivity_due) end,
        milestone_due = case when $1 = 'milestone' then excluded.milestone_due
                             else least(s.milestone_due, excluded.milestone_due) end,
        certification_due = case when $1 = 'certification_expiry' then excluded.certification_due
                                 else least(s.certification_due, excluded.certification_due) end,
        evaluated_on = excluded.evaluated_on
    where s.evaluated_on <= excluded.evaluated_on
  )
  select (count(*) filter (where $7 and x.known and x.change_seq is null and x.stored > x.due))::integer
  from seen x
  $sql$
  into v_repairs
  using p_scenario, p_date, p_after, p_last, p_ids, p_orgs, p_count_repairs;
  return v_repairs;
end
$_$;

COMMENT ON FUNCTION scheduler.keep_state(p_scenario text, p_date date, p_after uuid, p_last uuid, p_ids uuid[], p_orgs uuid[], p_count_repairs boolean) IS 'Incremental run: the batch''s upkeep of mentor_state and the change feed. Called by evaluate_batch only; SECURITY INVOKER, owner-only; the rule functions it reads are inlined into its statement.';

REVOKE ALL ON FUNCTION scheduler.keep_state(p_scenario text, p_date date, p_after uuid, p_last uuid, p_ids uuid[], p_orgs uuid[], p_count_repairs boolean) FROM PUBLIC;
