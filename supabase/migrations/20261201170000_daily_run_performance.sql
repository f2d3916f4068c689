-- The daily run at a million mentors: less work per mentor in the certification scenario, with the same
-- facts, verdicts, candidates and idempotency keys (the rules, oracle and explain tests are unchanged).
-- docs/performance.md ("What was changed for performance") has the measurements.
--
-- * certification_facts reads only the certifications of the batch's mentors (their user_id in the batch's
--   range, which the planner does not infer from the join), and certification_candidates only those that
--   expire within the widest rung of any organisation where the scenario is enabled: the batch starts from
--   the few certifications in that window (an index on the source's expires_at serves it, see
--   docs/source-contract.md) instead of every certification of every mentor. A certification beyond the
--   widest rung has the verdict beyond_rungs and was never a candidate; explain still reads every one.
-- Safe to apply twice (create or replace).

create or replace function scheduler.certification_facts(p_date date, p_after uuid, p_last uuid)
returns table (user_id uuid, organisation_id uuid, active boolean, enabled boolean, certification_id uuid,
               certification_name text, expires_at date, days_left integer, rung integer, widest_rung integer,
               narrower_sent integer, cooldown_days integer, priority integer, verdict text)
language sql stable
as $$
  select m.id, m.organisation_id, m.status = 'active', c.enabled, ce.id, ce.name, ce.expires_at,
         ce.expires_at - p_date, r.rung, r.widest, narrower.rung, c.cooldown_days, c.priority,
         case
           when m.status <> 'active' then 'not_active'
           when not c.enabled then 'disabled'
           when r.rung is null then 'beyond_rungs'
           when narrower.rung is not null then 'narrower_sent'
           else 'fires'
         end
  from scheduler_source.peer_mentors m
  join scheduler.effective_config('certification_expiry') c on c.organisation_id = m.organisation_id
  -- The batch's range on the certification too: the planner can then start from the certifications.
  join scheduler_source.certifications ce on ce.user_id = m.id and ce.expires_at >= p_date
    and ce.user_id > p_after and ce.user_id <= p_last
  cross join lateral (
    select min(x.v::integer) filter (where x.v::integer >= ce.expires_at - p_date) as rung,
           max(x.v::integer) as widest
    from jsonb_array_elements_text(c.params -> 'rungs') x(v)
  ) r
  left join lateral (
    select min((n.data ->> 'rung')::integer) as rung
    from public.notifications n
    where n.user_id = m.id and n.scenario = 'certification_expiry'
      and n.data ->> 'certification_id' = ce.id::text
      and (n.data ->> 'expires_at')::date = ce.expires_at
      and (n.data ->> 'rung')::integer < r.rung
  ) narrower on true
  where m.id > p_after and m.id <= p_last
$$;


create or replace function scheduler.certification_candidates(p_date date, p_after uuid, p_last uuid)
returns table (user_id uuid, organisation_id uuid, idempotency_key text, data jsonb,
               cooldown_days integer, priority integer)
language sql stable
as $$
  select f.user_id, f.organisation_id,
         'certification_expiry:' || f.user_id::text || ':' || f.certification_id::text || ':'
           || f.expires_at::text || ':' || f.rung::text,
         jsonb_build_object(
           'certification_id', f.certification_id, 'certification_name', f.certification_name,
           'expires_at', f.expires_at, 'days_left', f.days_left, 'rung', f.rung),
         f.cooldown_days, f.priority
  from scheduler.certification_facts(p_date, p_after, p_last) f
  where f.active and f.enabled and f.rung is not null and f.verdict = 'fires'
    -- The window of the widest rung where the scenario is enabled (once per batch): outside it no rung is reached.
    and f.expires_at <= p_date + (select max(x.v::integer)
                                  from scheduler.effective_config('certification_expiry') ec
                                  cross join lateral pg_catalog.jsonb_array_elements_text(ec.params -> 'rungs') x(v)
                                  where ec.enabled)
$$;

-- No JIT compilation in a batch: evaluate_batch carries `set jit = off` in its own definition
-- (20261207110000_rules_composed.sql says why). A loop here switched it off for every PL/pgSQL version of it.
