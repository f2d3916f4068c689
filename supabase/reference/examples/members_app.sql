-- An app shaped nothing like the reference schema, for the example mapping in members_mapping.sql (and the
-- test that runs the scheduler over it, engine/contract_test.go): clubs without a time zone, members with an
-- active flag and a start timestamp but no locale, events as timestamps, courses with bigint ids and a
-- validity timestamp, push subscriptions revoked by a timestamp.
create table if not exists public.clubs (
  club_uuid uuid primary key default gen_random_uuid(),
  title     text not null
);

create table if not exists public.members (
  member_uuid  uuid primary key default gen_random_uuid(),
  org          uuid not null references public.clubs (club_uuid),
  display_name varchar(200) not null,
  active       boolean not null default true,
  started      timestamptz not null default now()
);
create index if not exists members_active on public.members (member_uuid) where active;

create table if not exists public.events (
  id          bigint generated always as identity primary key,
  member      uuid not null references public.members (member_uuid),
  happened_at timestamptz not null
);
create index if not exists events_member on public.events (member, happened_at);

create table if not exists public.courses_passed (
  id          bigint generated always as identity primary key,
  member      uuid not null references public.members (member_uuid),
  course      text not null,
  valid_until timestamptz not null
);

create table if not exists public.push_subscriptions (
  member     uuid not null references public.members (member_uuid),
  fcm_token  text primary key,
  os         text not null,
  revoked_at timestamptz
);
