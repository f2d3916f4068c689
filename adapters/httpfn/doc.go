// Package httpfn is the scheduler's HTTP contract on net/http: method and path, authentication, the 64 KiB
// body cap, strict decoding of the request body, the run budget detached from the client's connection, and
// the one table that maps engine errors to status codes. The plain HTTP server serves it directly; the
// Cloud Functions and Lambda adapters reuse it so that every runtime answers the same contract.
package httpfn
