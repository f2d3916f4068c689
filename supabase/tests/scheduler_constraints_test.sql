-- Idempotency and cooldown are enforced by the database, whoever writes.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(9);

select col_is_unique('public', 'notifications', array['idempotency_key'],
  'notifications.idempotency_key is unique');
select is(
  (select c.contype::text from pg_catalog.pg_constraint c
   where c.conrelid = 'public.notifications'::regclass and c.conname = 'notifications_cooldown'),
  'x', 'notifications_cooldown is an exclusion constraint');
select is(
  (select pg_catalog.pg_get_constraintdef(c.oid) from pg_catalog.pg_constraint c
   where c.conrelid = 'public.notifications'::regclass and c.conname = 'notifications_cooldown'),
  'EXCLUDE USING gist (user_id WITH =, scenario WITH =, cooldown_period WITH &&) WHERE ((cooldown_period IS NOT NULL))',
  'the cooldown excludes overlapping periods of one mentor and scenario');

-- One mentor's ids (notifications keep the ids of the source contract without foreign keys to the app).
create temporary table t_ids on commit drop as
select gen_random_uuid() as mentor, gen_random_uuid() as org;

prepare notify(text, date, integer) as
  insert into public.notifications (user_id, organisation_id, scenario, evaluation_date, idempotency_key,
                                    cooldown_period, priority)
  select mentor, org, 'inactivity', $2, $1, case when $3 > 0 then daterange($2, $2 + $3) end, 10 from t_ids;

select lives_ok($$execute notify('pgtap:a', '2026-03-02', 7)$$, 'a first notification with a 7-day cooldown');
select throws_ok($$execute notify('pgtap:a', '2026-03-20', 0)$$, '23505', null,
  'the same idempotency key again is rejected (unique violation)');
select throws_ok($$execute notify('pgtap:b', '2026-03-08', 7)$$, '23P01', null,
  'a second notification inside the cooldown is rejected (exclusion violation), with another key');
select lives_ok($$execute notify('pgtap:c', '2026-03-09', 7)$$,
  'a notification the day the cooldown ends is accepted');
select lives_ok($$execute notify('pgtap:d', '2026-03-10', 0)$$,
  'a notification without a cooldown period is not constrained by it');
select is(
  (select count(*)::integer from public.notifications n join t_ids on n.user_id = t_ids.mentor),
  3, 'three notifications stored');

select * from finish();
rollback;
