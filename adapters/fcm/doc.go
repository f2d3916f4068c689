// Package fcm sends the scheduler's pushes: through Firebase Cloud Messaging's HTTP v1 API
// (projects/{id}/messages:send) with an OAuth2 access token from a service account, or, for local use, to the
// log only. Both implement engine.Sender.
//
// The FCM sender bounds the requests in flight, gives each request its own timeout, and retries 429, 500 and
// 503 answers and network errors with exponential backoff, honouring Retry-After, but never past the
// caller's deadline: what cannot be sent in time is returned as a temporary error and stays in the outbox.
// Answers that mean the device token is dead (UNREGISTERED, a token-related INVALID_ARGUMENT,
// SENDER_ID_MISMATCH) are never retried; the engine disables the token. FromEnv chooses the sender from the
// environment (PUSH_SENDER and the FCM_* variables).
package fcm
