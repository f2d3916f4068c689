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
