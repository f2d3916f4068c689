-- Demo data for the quick start and local development (after reference/app_schema.sql and
-- reference/source_mapping.sql; never pushed to production): three organisations and 504 peer mentors with an
-- activity history, certifications and device tokens. Deterministic: every value follows from the mentor's
-- number i (1..504) by the rules below, and every date is relative to today in Europe/Oslo, so the demo shows
-- each scenario whatever day it runs. The quick-start test re-derives the expected report from these rules.
--
--   organisation     i % 3
--   status           paused when i % 25 = 0, otherwise active
--   joined_on        today - (30 + i % 300) days
--   activities       none when i % 10 = 0; otherwise (i * 7) % 53 + 1 of them, every third day going back
--                    from the last one
--   last activity    today - 14 days when i % 10 = 1 (exactly the inactivity threshold)
--                    today - 13 days when i % 10 = 2 (one day short of it)
--                    today - (30 + i % 20) days when i % 10 = 3
--                    today - (i % 7) days otherwise
--   certification    when i % 4 = 0: "Førstehjelp" expiring today + ((i * 11) % 45 - 5) days
--   device token     when i % 5 <> 0
--
-- Safe to load twice: rows have fixed ids and conflicts are skipped.

insert into public.organisations (id, name)
select md5('demo-organisation-' || o)::uuid, n
from (values (0, 'Likepersonsenteret Oslo'), (1, 'Frivillighet Bergen'), (2, 'Mentornettverket Tromsø')) v(o, n)
on conflict (id) do nothing;

with today as (select (now() at time zone 'Europe/Oslo')::date as d),
names as (
  select array['Ingrid','Ola','Kari','Lars','Nora','Emil','Sofie','Jonas','Maja','Henrik','Ida','Magnus'] f,
         array['Hansen','Johansen','Olsen','Larsen','Andersen','Pedersen','Nilsen','Kristiansen','Jensen','Berg'] l
)
insert into public.peer_mentors (id, organisation_id, full_name, status, locale, joined_on)
select md5('demo-mentor-' || i)::uuid,
       md5('demo-organisation-' || (i % 3))::uuid,
       names.f[1 + i % 12] || ' ' || names.l[1 + (i / 12) % 10],
       case when i % 25 = 0 then 'paused' else 'active' end,
       case when i % 6 = 0 then 'en' else 'nb' end,
       today.d - (30 + i % 300)
from generate_series(1, 504) i, today, names
on conflict (id) do nothing;

with today as (select (now() at time zone 'Europe/Oslo')::date as d),
mentor as (
  select i, md5('demo-mentor-' || i)::uuid as id, (i * 7) % 53 + 1 as n,
         case i % 10 when 1 then 14 when 2 then 13 when 3 then 30 + i % 20 else i % 7 end as last_offset
  from generate_series(1, 504) i
  where i % 10 <> 0
)
insert into public.activities (user_id, activity_date, kind)
select m.id, today.d - m.last_offset - 3 * k, (array['meeting','phone_call','group_session'])[1 + k % 3]
from mentor m, today, generate_series(0, m.n - 1) k
where not exists (select 1 from public.activities a where a.user_id = m.id);

with today as (select (now() at time zone 'Europe/Oslo')::date as d)
insert into public.certifications (id, user_id, name, expires_at)
select md5('demo-certification-' || i)::uuid, md5('demo-mentor-' || i)::uuid, 'Førstehjelp',
       today.d + ((i * 11) % 45 - 5)
from generate_series(1, 504) i, today
where i % 4 = 0
on conflict (id) do nothing;

insert into public.device_tokens (user_id, token, platform)
select md5('demo-mentor-' || i)::uuid, 'demo-token-' || i, case when i % 2 = 0 then 'android' else 'ios' end
from generate_series(1, 504) i
where i % 5 <> 0
on conflict (token) do nothing;
