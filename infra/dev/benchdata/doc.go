// Package benchdata generates a deterministic synthetic peer-mentor dataset for benchmarks and plan
// guards: organisations, mentors (mostly active), about twenty activities per mentor over two years
// with a skewed distribution (some mentors very active, some never), certifications around their expiry
// rungs and device tokens. The same size and seed always give the same rows. Rows are streamed into
// PostgreSQL with COPY (pgx CopyFrom) with the tables' secondary indexes and foreign keys dropped during
// the load and recreated after it, then the tables are ANALYZEd.
package benchdata
