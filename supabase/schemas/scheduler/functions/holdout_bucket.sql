-- Function scheduler.holdout_bucket, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.holdout_bucket(p_organisation uuid, p_user uuid, p_scenario text) RETURNS integer
    LANGUAGE sql IMMUTABLE
    AS $$
  -- 0..9999 from PostgreSQL's 64-bit text hash (seed 0) of 'organisation:mentor:scenario' (uuids in their
  -- lower-case text form). Held out when below holdout_percent * 100. Stable across runs, shards, batches and
  -- repeats (it depends on nothing else); a different bucket per scenario, so one mentor is not held out of
  -- every scenario at once.
  select (((pg_catalog.hashtextextended(p_organisation::text || ':' || p_user::text || ':' || p_scenario, 0)
            % 10000) + 10000) % 10000)::integer
$$;

COMMENT ON FUNCTION scheduler.holdout_bucket(p_organisation uuid, p_user uuid, p_scenario text) IS 'The holdout''s stable hash (docs/operations.md): a mentor is held out of a scenario when this is below holdout_percent * 100. No fixed search_path on purpose: inlined into evaluate_batch and explain. SECURITY INVOKER, owner-only.';

REVOKE ALL ON FUNCTION scheduler.holdout_bucket(p_organisation uuid, p_user uuid, p_scenario text) FROM PUBLIC;
