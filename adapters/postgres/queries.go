package postgres

// Every statement the store sends. A shard is passed as its number and count (1 and 1: every mentor), a slot as
// its text ("": every organisation). Each calls one function of the scheduler schema; the function role has
// EXECUTE on those and nothing else.
const (
	qEnabledScenarios = `select scenario from scheduler.enabled_scenarios()`
	qStartRun         = `select scheduler.start_run($1, $2, $3, $4, $5)`
	qCheckSource      = `select scheduler.check_source()`
	qFinishRun        = `select scheduler.finish_run($1, $2, $3, $4)`
	qClaim            = `select outcome, cursor, evaluated, notified, shards
	                     from scheduler.claim_checkpoint($1, $2, $3, $4, $5, $6, $7)`
	qRelease       = `select scheduler.release_checkpoint($1, $2, $3, $4, $5, $6)`
	qEvaluateBatch = `select evaluated, candidates, notified, suppressed_cooldown, duplicates, conflicts,
	                            next_cursor, done
	                     from scheduler.evaluate_batch($1, $2, $3, $4, $5, $6, $7, $8, $9)`
	qProgress    = `select cursor, evaluated, notified, done from scheduler.checkpoint_progress($1, $2, $3, $4, $5)`
	qRemaining   = `select scheduler.remaining_mentors($1, $2, $3, $4)`
	qRecordStats = `select scheduler.record_scenario_stats($1, $2, $3)`
	qMode        = `select mode, reason, state_repairs from scheduler.evaluation_mode($1, $2, $3, $4, $5)`
)

// The push outbox's statements (delivery.go): the templates, a batch's claim (the delivery policy and the
// lease), its results, and the backlog's count.
const (
	qPushTemplates = `select coalesce(organisation_id::text, ''), scenario, locale, coalesce(title, ''), coalesce(body, '')
	                  from scheduler.push_templates()`
	qClaimDeliveries = `select notification_id, disposition, coalesce(reason, ''), user_id::text, organisation_id::text,
	                           scenario, locale, full_name, data, coalesce(tokens, '{}'), attempts, push_until
	                    from scheduler.claim_pushes($1, $2, $3, $4, $5, $6)`
	qRecordDeliveries = `select scheduler.record_deliveries($1, $2, $3)`
	qDeliveryBacklog  = `select deliverable, waiting from scheduler.delivery_backlog($1)`
)

// sqlStateLeaseLost is raised by scheduler.evaluate_batch when the run no longer holds the checkpoint.
const sqlStateLeaseLost = "SC409"

// sqlStateSourceContract is raised by scheduler.check_source when the source contract does not hold.
const sqlStateSourceContract = "SC422"

// qClaimSignature records a signed call's signature once (the replay guard of adapters/httpfn).
const qClaimSignature = `select scheduler.claim_signature($1, $2)`
