// Package bench measures the scenario scheduler on the synthetic datasets of package benchdata, side by
// side on the same database: the engine in-process and end to end through the HTTP adapter in a separate
// process (latency, peak RSS, cold start), a naive per-mentor loop (the design the specification warns
// about) and the database's floor for the inactivity check (the cheapest query that reads the same data).
// Figures are reported as min/median/max over repetitions and as ratios measured in the same run, which
// survive a noisy machine better than absolute times.
package bench
