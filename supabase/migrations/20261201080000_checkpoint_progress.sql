-- What a checkpoint holds, read without taking its lease. The engine reads it for a scenario it could not
-- start because the budget was spent, so that the report still says how much is done and how much remains.
-- Safe to apply twice.
create or replace function scheduler.checkpoint_progress(p_date date, p_scenario text)
returns table (cursor uuid, evaluated integer, notified integer, done boolean)
language sql stable security definer set search_path = ''
as $$
  select c.cursor, c.evaluated, c.notified, c.done
  from scheduler.checkpoints c
  where c.evaluation_date = p_date and c.scenario = p_scenario
$$;
comment on function scheduler.checkpoint_progress(date, text) is
  'A checkpoint''s cursor, counts and done flag, read without taking its lease (no row: nothing done yet).';
revoke all on function scheduler.checkpoint_progress(date, text) from public;
grant execute on function scheduler.checkpoint_progress(date, text) to scenario_scheduler;
