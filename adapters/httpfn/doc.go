// Package httpfn is the scheduler's HTTP contract on net/http, written once for every runtime: method and
// path, authentication (the raw secret, or an HMAC signature over the method, the path and the body's
// meaning that a ReplayGuard accepts once; current or previous secret, compared in constant time), then no
// query string (refused naming its parameters, never their values), the 64 KiB body cap, strict decoding of
// the request body (no duplicate keys, no field matched only ignoring case, no unknown field, on every
// call), the run budget detached from the client's connection, and the one table that maps error codes to
// status codes. Rejected requests are logged with the caller's address and at most a short excerpt of the
// input, never a header or query-string value. The plain HTTP server serves it directly; the Cloud Functions adapter registers it and the
// Lambda adapter translates Function URL events into it (and raw, platform-authorised invocations into
// Handler.Direct), so that every runtime answers the same contract. docs/adapters.md lists the contract and
// its bad-request table.
package httpfn
