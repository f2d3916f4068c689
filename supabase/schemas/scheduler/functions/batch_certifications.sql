-- Function scheduler.batch_certifications, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.batch_certifications(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) RETURNS TABLE(id uuid, user_id uuid, name text, expires_at date)
    LANGUAGE sql STABLE
    AS $$
  -- The certifications a batch's rules read, valid on p_date: those of its key range (p_ids null, a full
  -- batch), or of the ids given (an incremental batch). Gated by p_ids alone, as scheduler.batch_mentors, so
  -- that a generic plan of a full batch is estimated as the range it reads: with `p_ids is null or
  -- ce.user_id = any (p_ids)` it expected one certification and joined the configuration once per mentor.
  select ce.id, ce.user_id, ce.name, ce.expires_at
  from scheduler_source.certifications ce
  where p_ids is null and ce.user_id > p_after and ce.user_id <= p_last and ce.expires_at >= p_date
  union all
  select ce.id, ce.user_id, ce.name, ce.expires_at
  from scheduler_source.certifications ce
  where ce.user_id = any (p_ids) and ce.user_id > p_after and ce.user_id <= p_last and ce.expires_at >= p_date
$$;

COMMENT ON FUNCTION scheduler.batch_certifications(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) IS 'No fixed search_path on purpose: inlined into evaluate_batch and explain (search_path ''''). SECURITY INVOKER, owner-only, names qualified.';

REVOKE ALL ON FUNCTION scheduler.batch_certifications(p_date date, p_after uuid, p_last uuid, p_ids uuid[]) FROM PUBLIC;
