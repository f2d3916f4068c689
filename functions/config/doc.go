// Package config reads the scheduler's environment once, at cold start, for every entry point (the plain
// HTTP server, the Lambda bootstrap and the Cloud Functions root package). Load checks every variable and
// returns one error that names each missing or bad one; no message ever contains a value, so a secret or a
// database password cannot leak into a log.
package config
