-- Source contract mapping for the members app (docs/source-contract.md, "A differently shaped app").
-- One migration of the operator's own, with a timestamp after the scheduler's migrations.

-- No time zone column: every club is in Norway.
create or replace view scheduler_source.organisations as
  select c.club_uuid as id, c.title as name, 'Europe/Oslo'::text as timezone
  from public.clubs c;

-- An active flag instead of a status; a start timestamp instead of a date (the local date in Norway);
-- no locale column (every push in Bokmål); varchar cast to text (the contract fixes the types).
create or replace view scheduler_source.peer_mentors as
  select m.member_uuid as id, m.org as organisation_id, m.display_name::text as full_name,
         case when m.active then 'active' else 'inactive' end as status,
         'nb'::text as locale,
         (m.started at time zone 'Europe/Oslo')::date as joined_on
  from public.members m;

-- Events are timestamps: an activity's date is its local date in Norway.
create or replace view scheduler_source.activities as
  select e.member as user_id, (e.happened_at at time zone 'Europe/Oslo')::date as activity_date
  from public.events e;

-- bigint ids become stable uuids; valid until a moment means it expires on that local date.
create or replace view scheduler_source.certifications as
  select md5('courses_passed:' || p.id::text)::uuid as id, p.member as user_id, p.course as name,
         (p.valid_until at time zone 'Europe/Oslo')::date as expires_at
  from public.courses_passed p;

-- A subscription is disabled once revoked.
create or replace view scheduler_source.device_tokens as
  select s.member as user_id, s.fcm_token as token, s.os as platform, s.revoked_at is not null as disabled
  from public.push_subscriptions s;

-- disabled is an expression, so the view is not updatable by itself: the scheduler's one write to the app
-- (disabling a token the push service reports dead) becomes a revocation.
create or replace function public.revoke_push_subscription()
returns trigger
language plpgsql set search_path = ''
as $$
begin
  if new.disabled and not old.disabled then
    update public.push_subscriptions set revoked_at = now() where fcm_token = old.token;
  end if;
  return new;
end
$$;
revoke all on function public.revoke_push_subscription() from public;

drop trigger if exists device_tokens_revoke on scheduler_source.device_tokens;
create trigger device_tokens_revoke instead of update on scheduler_source.device_tokens
  for each row execute function public.revoke_push_subscription();
