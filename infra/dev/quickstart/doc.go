// Package quickstart is the project's demo: it migrates a database, loads the demo seed, serves the
// scheduler's HTTP function on loopback, invokes it the way the hourly job's pg_net call does (for the demo organisations' slot,
// Europe/Oslo@08), and prints the report as a table. It runs a second invocation for the same day to show that
// nothing is created twice.
package quickstart
