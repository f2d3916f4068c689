-- View scheduler.run_history, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE VIEW scheduler.run_history WITH (security_invoker='true') AS
 WITH s AS (
         SELECT ops_settings.time_zone,
            ((now() AT TIME ZONE ops_settings.time_zone))::date AS today
           FROM scheduler.ops_settings
        ), days AS (
         SELECT (d_1.d)::date AS day,
            (((d_1.d)::date)::timestamp without time zone AT TIME ZONE s.time_zone) AS day_from,
            ((((d_1.d)::date + 1))::timestamp without time zone AT TIME ZONE s.time_zone) AS day_to
           FROM s,
            LATERAL generate_series(((s.today - 13))::timestamp with time zone, (s.today)::timestamp with time zone, '1 day'::interval) d_1(d)
        ), per_scenario AS (
         SELECT d_1.day,
            sc.scenario,
            sc.priority,
                CASE
                    WHEN cp.done THEN 'completed'::text
                    WHEN (cp.scenario IS NOT NULL) THEN 'partial'::text
                    ELSE 'missing'::text
                END AS status,
            COALESCE(cp.evaluated, (0)::bigint) AS evaluated,
            COALESCE(cp.notified, (0)::bigint) AS notified
           FROM ((days d_1
             CROSS JOIN scheduler.enabled_scenarios() sc(scenario, priority))
             LEFT JOIN ( SELECT c.evaluation_date,
                    c.scenario,
                    bool_and(c.done) AS done,
                    sum(c.evaluated) AS evaluated,
                    sum(c.notified) AS notified
                   FROM scheduler.checkpoints c
                  GROUP BY c.evaluation_date, c.scenario) cp ON (((cp.evaluation_date = d_1.day) AND (cp.scenario = sc.scenario))))
        )
 SELECT d.day,
        CASE
            WHEN bool_and((p.status = 'completed'::text)) THEN 'completed'::text
            WHEN bool_or((p.status <> 'missing'::text)) THEN 'partial'::text
            WHEN (r.runs > 0) THEN 'failed'::text
            ELSE 'no run'::text
        END AS status,
    string_agg(((p.scenario || ' '::text) || p.status), ', '::text ORDER BY p.priority DESC, p.scenario) AS scenarios,
    (sum(p.evaluated))::bigint AS evaluated,
    (sum(p.notified))::bigint AS notified,
    COALESCE(r.runs, (0)::bigint) AS runs,
    r.duration_ms,
    scheduler.answer_summary(d.day_from, d.day_to) AS answers,
    ( SELECT string_agg(a.problem, ', '::text ORDER BY a.id) AS string_agg
           FROM scheduler.alerts a
          WHERE ((a.day = d.day) AND (a.resolved_at IS NULL))) AS open_alerts
   FROM ((days d
     JOIN per_scenario p ON ((p.day = d.day)))
     LEFT JOIN LATERAL ( SELECT count(*) AS runs,
            sum(u.duration_ms) AS duration_ms
           FROM scheduler.runs u
          WHERE ((u.evaluation_date = d.day) AND (NOT u.dry_run))) r ON (true))
  GROUP BY d.day, d.day_from, d.day_to, r.runs, r.duration_ms
  ORDER BY d.day DESC;

COMMENT ON VIEW scheduler.run_history IS 'The last 14 local days: status per scenario, counts, run time, pg_net''s answers, open alerts (docs/operations.md).';
