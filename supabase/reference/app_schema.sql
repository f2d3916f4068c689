-- Reference schema of the peer-mentor app: the app the quick start, the tests and the benchmark run against.
-- NOT a migration: `supabase db push` never sends it to a production project. A real project has its own
-- tables; the scheduler reads them only through the source contract (docs/source-contract.md), which
-- source_mapping.sql maps onto these tables. Applied by the quick start, the tests, the benchmark, and by
-- `supabase db push --include-seed` ([db.seed] in supabase/config.toml).
-- Safe to apply twice: every statement is guarded.

create table if not exists public.organisations (
  id         uuid primary key default gen_random_uuid(),
  name       text not null,
  timezone   text not null default 'Europe/Oslo',
  created_at timestamptz not null default now()
);
comment on table public.organisations is 'Volunteer organisations using the peer-mentor app.';

create table if not exists public.peer_mentors (
  id              uuid primary key default gen_random_uuid(),
  organisation_id uuid not null references public.organisations (id),
  full_name       text not null,
  status          text not null default 'active'
                  check (status in ('active', 'paused', 'inactive')),
  locale          text not null default 'nb' check (locale in ('nb', 'nn', 'en')),
  joined_on       date not null default current_date,
  created_at      timestamptz not null default now()
);
comment on table public.peer_mentors is
  'Peer mentors. Only status = active is evaluated; joined_on is the start of the inactivity clock for a mentor who never registered an activity.';

-- The scheduler walks active mentors in id order (keyset batches) and counts each batch's mentors by
-- organisation (the report's evaluated); this partial index, with the organisation in it, serves both as
-- index-only scans (docs/performance.md: 1.17x on a 100k evaluation, measured against (id) alone).
drop index if exists public.peer_mentors_active_id;
create index if not exists peer_mentors_active_walk on public.peer_mentors (id) include (organisation_id)
  where status = 'active';
create index if not exists peer_mentors_organisation on public.peer_mentors (organisation_id);

create table if not exists public.activities (
  id            bigint generated always as identity primary key,
  user_id       uuid not null references public.peer_mentors (id) on delete cascade,
  activity_date date not null,
  kind          text not null default 'meeting',
  created_at    timestamptz not null default now()
);
comment on table public.activities is 'Registered peer-mentor activities (meetings, calls, courses).';

-- Latest activity and activity counts per mentor are index-only scans on this index.
create index if not exists activities_user_date on public.activities (user_id, activity_date);

create table if not exists public.certifications (
  id         uuid primary key default gen_random_uuid(),
  user_id    uuid not null references public.peer_mentors (id) on delete cascade,
  name       text not null,
  expires_at date not null,
  created_at timestamptz not null default now()
);
comment on table public.certifications is 'Certifications a mentor holds, with their expiry date.';
create index if not exists certifications_user_expiry on public.certifications (user_id, expires_at);
-- The certification scenario starts from the certifications expiring within its widest rung (a date range,
-- with the batch's mentors in the index too): without this index every batch reads every certification of
-- its mentors.
create index if not exists certifications_expiry_user on public.certifications (expires_at, user_id);

create table if not exists public.device_tokens (
  id         bigint generated always as identity primary key,
  user_id    uuid not null references public.peer_mentors (id) on delete cascade,
  token      text not null unique,
  platform   text not null check (platform in ('android', 'ios', 'web')),
  disabled   boolean not null default false,
  created_at timestamptz not null default now()
);
comment on table public.device_tokens is 'Push tokens of mentors'' devices.';
create index if not exists device_tokens_user on public.device_tokens (user_id) where not disabled;

-- Row-level security on every table of the app, so the Data API shows nothing unless a policy says so.
-- The scheduler reads through its contract views, owned by the tables' owner, which row-level security does
-- not restrict.
alter table public.organisations enable row level security;
alter table public.peer_mentors enable row level security;
alter table public.activities enable row level security;
alter table public.certifications enable row level security;
alter table public.device_tokens enable row level security;

-- Mentors read their own rows. Only where Supabase Auth is present (auth.uid() and the authenticated role);
-- elsewhere row-level security simply shows nothing through the API.
do $$
begin
  if pg_catalog.to_regprocedure('auth.uid()') is null
     or not exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticated') then
    return;
  end if;
  if not exists (select 1 from pg_catalog.pg_policies
                 where schemaname = 'public' and tablename = 'peer_mentors' and policyname = 'mentors read own profile') then
    create policy "mentors read own profile" on public.peer_mentors
      for select to authenticated using (id = (select auth.uid()));
  end if;
  if not exists (select 1 from pg_catalog.pg_policies
                 where schemaname = 'public' and tablename = 'activities' and policyname = 'mentors read own activities') then
    create policy "mentors read own activities" on public.activities
      for select to authenticated using (user_id = (select auth.uid()));
  end if;
  if not exists (select 1 from pg_catalog.pg_policies
                 where schemaname = 'public' and tablename = 'certifications' and policyname = 'mentors read own certifications') then
    create policy "mentors read own certifications" on public.certifications
      for select to authenticated using (user_id = (select auth.uid()));
  end if;
end
$$;
