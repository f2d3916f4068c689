// Package engine is the scenario scheduler's domain: it decides which peer mentors get which engagement
// notification (inactivity, milestone, certification expiry) for one evaluation date, inside a time budget.
//
// Run walks active mentors in keyset batches per scenario. Before each batch it checks that the batch fits
// in what is left of the budget (batch sizes follow measured batch times), and every batch commits its
// notifications together with its checkpoint, so a run that is cut off resumes where it stopped. Concurrent
// runs for the same date never evaluate the same scenario at once: each scenario's checkpoint is leased.
// Idempotency and cooldown are enforced by the database behind the Store port, not here.
//
// With a Sender (Options.Sender), a run then delivers the outbox of pending notifications as push
// messages within what is left of the budget (delivery.go): the DeliveryStore port claims rows under the
// delivery policy (daily cap, quiet hours, no device), the engine renders each push in the mentor's language
// (messages.go) and sends it through the Sender port, and records sent, failed or retry per batch.
//
// The package knows no runtime, transport or driver: inbound adapters (Lambda, Cloud Functions, plain HTTP)
// call Run, the Postgres adapter implements Store and DeliveryStore, and the fcm adapter implements Sender.
package engine
