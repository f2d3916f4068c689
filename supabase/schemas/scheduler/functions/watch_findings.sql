-- Function scheduler.watch_findings, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.watch_findings(p_now timestamp with time zone DEFAULT now()) RETURNS TABLE(problem text, detail text, since timestamp with time zone)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  -- scheduler.findings without the cause, in the shape this function always had: earlier migrations define
  -- it with these columns, and re-applying them must not meet another result type.
  select f.problem, f.detail, f.since from scheduler.findings(p_now) f
$$;

COMMENT ON FUNCTION scheduler.watch_findings(p_now timestamp with time zone) IS 'The watchdog''s findings on p_now''s local day (scheduler.findings without the cause), for a look in the SQL editor.';

REVOKE ALL ON FUNCTION scheduler.watch_findings(p_now timestamp with time zone) FROM PUBLIC;
