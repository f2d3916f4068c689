-- Function scheduler.change_feed_coverage, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.change_feed_coverage() RETURNS TABLE(source_view text, base_table text, missing_events text[])
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
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

COMMENT ON FUNCTION scheduler.change_feed_coverage() IS 'Change feed: per contract view and app table behind it, the writes no enabled trigger notes (empty: covered).';

REVOKE ALL ON FUNCTION scheduler.change_feed_coverage() FROM PUBLIC;
