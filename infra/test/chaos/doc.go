// Package chaos holds the scheduler's fault and load tests (`go tool task test:chaos`): concurrent
// invocations, a database connection cut mid-batch, the database server restarted mid-run, and runs under
// deadline pressure. Each test compares the final notifications with those of one clean run: nobody may be
// nudged twice, and nobody missed.
//
// The tests start their own PostgreSQL cluster (they restart it), with the sizes of the fast suite that CI
// runs; CHAOS_LONG=1 selects the long suite's sizes.
package chaos
