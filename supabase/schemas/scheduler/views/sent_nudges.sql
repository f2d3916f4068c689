-- View scheduler.sent_nudges, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE VIEW scheduler.sent_nudges WITH (security_invoker='true') AS
 SELECT n.user_id,
    n.organisation_id,
    n.scenario,
    n.evaluation_date,
    n.idempotency_key,
    n.cooldown_period,
    n.data,
    false AS held_out
   FROM public.notifications n
UNION ALL
 SELECT h.user_id,
    h.organisation_id,
    h.scenario,
    h.evaluation_date,
    h.idempotency_key,
    h.cooldown_period,
    h.data,
    true AS held_out
   FROM scheduler.held_out_nudges h;

COMMENT ON VIEW scheduler.sent_nudges IS 'Every nudge the rules count as sent: the notifications and the held-out nudges (the control group). The one place the duplicate check, the cooldown, the inactivity spell, the milestone levels and the certification rungs read earlier nudges, so that a held-out mentor''s schedule is the nudged group''s. A UNION ALL the planner flattens: each branch keeps its own index.';
