-- The recipe of docs/architecture.md ("Adding a scenario"), step 2, followed as written for a scenario
-- `welcome`: a mentor who joined within `within_days` (default 7) and has registered no activity yet gets one
-- welcome, once ever. engine/recipe_test.go (TestAddingAScenarioRecipe) applies this file to a test
-- database and runs the scenario end to end through the engine. In a project this is one new migration.

-- 1. The candidates function: plain SQL (LANGUAGE sql, STABLE, no SET clause, one select) so that the planner
--    inlines it into the batch; the mentors in (p_after, p_last], and of them only those in p_ids unless it is
--    null (scheduler.batch_mentors), one row per notification with the columns below; the idempotency key decides "at most once".
--    Owner-only.
create or replace function scheduler.welcome_candidates(p_date date, p_after uuid, p_last uuid, p_ids uuid[])
returns table (user_id uuid, organisation_id uuid, idempotency_key text, data jsonb,
               cooldown_days integer, priority integer)
language sql stable
as $$
  select m.id, m.organisation_id, 'welcome:' || m.id::text,
         pg_catalog.jsonb_build_object('joined_on', m.joined_on, 'days_since_joining', p_date - m.joined_on),
         c.cooldown_days, c.priority
  from scheduler.batch_mentors(p_after, p_last, p_ids) m
  join scheduler.effective_config('welcome') c on c.organisation_id = m.organisation_id
  where m.status = 'active' and c.enabled
    and p_date - m.joined_on between 0 and (c.params ->> 'within_days')::integer
    and not exists (select 1 from scheduler_source.activities a where a.user_id = m.id and a.activity_date <= p_date)
$$;
revoke all on function scheduler.welcome_candidates(date, uuid, uuid, uuid[]) from public;

-- 2. One line in the dispatch (the last one).
create or replace function scheduler.candidates(p_scenario text, p_date date, p_after uuid, p_last uuid, p_ids uuid[], p_idle boolean)
returns table (user_id uuid, organisation_id uuid, idempotency_key text, data jsonb,
               cooldown_days integer, priority integer, fires boolean, due_sent date, due_idle date)
language sql stable
as $$
  select * from scheduler.inactivity_assessment(p_date, p_after, p_last, p_ids, p_idle) where p_scenario = 'inactivity'
  union all
  select * from scheduler.milestone_assessment(p_date, p_after, p_last, p_ids, p_idle) where p_scenario = 'milestone'
  union all
  select * from scheduler.certification_assessment(p_date, p_after, p_last, p_ids, p_idle) where p_scenario = 'certification_expiry'
  union all select c.*, true, null::date, null::date from scheduler.welcome_candidates(p_date, p_after, p_last, p_ids) c where p_scenario = 'welcome'
$$;

-- 3. The registry entries of the database: the name in scenario_config's check constraint, and its default row.
alter table scheduler.scenario_config drop constraint if exists scenario_config_scenario_check;
alter table scheduler.scenario_config add constraint scenario_config_scenario_check
  check (scenario in ('inactivity', 'milestone', 'certification_expiry', 'welcome'));
insert into scheduler.scenario_config (scenario, enabled, params, cooldown_days, priority)
values ('welcome', true, '{"within_days": 7}', 0, 5)
on conflict on constraint scenario_config_one_row do nothing;
