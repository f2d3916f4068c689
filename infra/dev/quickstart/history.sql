-- A simulated history for the quick start's effectiveness line (never pushed to production, loaded after the
-- demo's two calls so that their reports stay as supabase/seed.sql derives them). One more organisation,
-- "Likepersoner Trondheim (historikk)", with the inactivity holdout at 20 %, and 400 mentors who were each
-- nudged once for inactivity on a day 15 to 42 days ago (so every 14-day window has closed): those whom
-- scheduler.holdout_bucket holds out have a held-out nudge instead of a notification. Whether a mentor came
-- back follows from a hash of the mentor's number (r, 0..99): nudged mentors with r < 60 registered an activity
-- 1 + r % 13 days after the nudge, and those with r from 60 to 69 after 20 days (late); held-out mentors with
-- r < 35 within 14 days, from 35 to 44 late. Deterministic and safe to load twice.

insert into public.organisations (id, name)
values (md5('demo-organisation-history')::uuid, 'Likepersoner Trondheim (historikk)')
on conflict (id) do nothing;

insert into scheduler.scenario_config (scenario, organisation_id, holdout_percent)
values ('inactivity', md5('demo-organisation-history')::uuid, 20)
on conflict on constraint scenario_config_one_row do update set holdout_percent = excluded.holdout_percent;

with today as (select (now() at time zone 'Europe/Oslo')::date as d)
insert into public.peer_mentors (id, organisation_id, full_name, status, locale, joined_on)
select md5('demo-history-mentor-' || i)::uuid, md5('demo-organisation-history')::uuid,
       'Historikk ' || i, 'active', 'nb', today.d - 200
from generate_series(1, 400) i, today
on conflict (id) do nothing;

create temporary table demo_history on commit drop as
with today as (select (now() at time zone 'Europe/Oslo')::date as d)
select i, md5('demo-history-mentor-' || i)::uuid as id, today.d - (15 + i % 28) as nudged_on,
       abs(hashtext('demo-history-return-' || i)) % 100 as r,
       scheduler.holdout_bucket(md5('demo-organisation-history')::uuid, md5('demo-history-mentor-' || i)::uuid,
                                'inactivity') < 2000 as held_out
from generate_series(1, 400) i, today;

-- Before the nudge: four activities, the last exactly 14 days before it (the threshold).
insert into public.activities (user_id, activity_date, kind)
select h.id, h.nudged_on - 14 - 3 * k, 'meeting'
from demo_history h, generate_series(0, 3) k
where not exists (select 1 from public.activities a where a.user_id = h.id);

-- After it: the mentors who came back, in time or late.
insert into public.activities (user_id, activity_date, kind)
select h.id, h.nudged_on + case when h.r < (case when h.held_out then 35 else 60 end) then 1 + h.r % 13 else 20 end,
       'phone_call'
from demo_history h
where h.r < (case when h.held_out then 45 else 70 end)
  and not exists (select 1 from public.activities a where a.user_id = h.id and a.activity_date > h.nudged_on - 14);

insert into public.notifications (user_id, organisation_id, scenario, evaluation_date, idempotency_key,
                                  cooldown_period, priority, data, status, sent_at)
select h.id, md5('demo-organisation-history')::uuid, 'inactivity', h.nudged_on,
       'inactivity:' || h.id || ':' || h.nudged_on, daterange(h.nudged_on, h.nudged_on + 7), 10,
       jsonb_build_object('days_inactive', 14, 'last_activity_date', h.nudged_on - 14, 'inactivity_days', 14),
       'sent', h.nudged_on + time '08:00'
from demo_history h
where not h.held_out
on conflict do nothing;

insert into scheduler.held_out_nudges (user_id, organisation_id, scenario, evaluation_date, idempotency_key,
                                       cooldown_period, priority, data)
select h.id, md5('demo-organisation-history')::uuid, 'inactivity', h.nudged_on,
       'inactivity:' || h.id || ':' || h.nudged_on, daterange(h.nudged_on, h.nudged_on + 7), 10,
       jsonb_build_object('days_inactive', 14, 'last_activity_date', h.nudged_on - 14, 'inactivity_days', 14)
from demo_history h
where h.held_out
on conflict do nothing;
