// Package fcm sends the scheduler's pushes: through Firebase Cloud Messaging's HTTP v1 API
// (projects/{id}/messages:send) with an OAuth2 access token from a service account, or, for local use, to the
// log only. Both implement engine.Sender.
//
// The FCM sender bounds the requests in flight, gives each request its own timeout, and retries 500 and 503
// answers and network errors with exponential backoff, honouring Retry-After, but never past the caller's
// deadline: what cannot be sent in time is returned as a temporary error and stays in the outbox. A quota
// error (429) is retried only after its Retry-After; without one it is returned as Throttled and the engine
// backs off. Answers that mean the device token is dead (UNREGISTERED, a token-related INVALID_ARGUMENT) are
// never retried; the engine disables the token. Answers that mean the sender itself is refused
// (SENDER_ID_MISMATCH, 401, 403, a 404 for the project, a refused service account) are Credentials errors:
// the engine stops the pass and touches no token. Each push carries the engine's TTL (Android ttl, APNs
// apns-expiration). functions/config reads the environment (PUSH_SENDER and the FCM_* variables);
// functions/wire builds the sender.
package fcm
