// Package config reads the scheduler's environment once, at cold start, for every entry point (the plain
// HTTP server, the Lambda bootstrap and the Cloud Functions root package). Load checks every variable and
// returns one error that names each missing or bad one; no message ever contains a value, so a secret or a
// database password cannot leak into a log.
//
// A Config is only values: it imports no adapter. functions/wire turns it into the running scheduler
// (store, sender, engine, handler); programs that are not a deployment (the quick start, the benchmark, the
// chaos suite) fill a Config themselves and hand it to the same wiring.
package config
