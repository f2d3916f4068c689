// Package localpg starts throw-away PostgreSQL 15 clusters for tests and the
// local quick start (the "embedded default" database).
//
// The scenario scheduler targets Supabase projects, which run PostgreSQL 15
// with pg_cron. To test against the real thing without Docker, localpg finds
// (and, as root on Debian, installs) the PostgreSQL 15 server binaries, the
// pg_cron and pgTAP extensions and pg_prove, then initialises a private
// cluster in a temporary directory, starts it on a free port on 127.0.0.1
// with pg_cron preloaded, and hands out a DATABASE_URL for it. The cluster
// runs with durability switched off (fsync, synchronous_commit and
// full_page_writes are off) because its data is disposable.
//
// Where security is concerned the cluster looks like a hosted Supabase
// project: its bootstrap superuser is AdminUser (supabase_admin), and
// "postgres", the role DATABASE_URL names, is not a superuser but has
// Supabase's attributes. The administrator creates what Supabase pre-creates
// (schema extensions with pgcrypto and btree_gist, pg_cron with Supabase's
// grants, pg_net where it is installed and preloaded; see AdminBootstrap).
// pg_net is preloaded when pg_net.so is installed, unless LOCALPG_PG_NET=off;
// its worker serves the database postgres and connects as postgres
// (pg_net.username), as on hosted Supabase, and the tests' stand-in worker
// follows the same settings.
//
// PostgreSQL refuses to run as root, so when the current process is root the
// server programs run as the "postgres" system user and the data directory is
// handed over to that user.
//
// The command infra/dev/localpg/cmd wraps this package: "localpg exec -- CMD"
// runs CMD with DATABASE_URL (as postgres) and ADMIN_DATABASE_URL (as the
// administrator) pointing at a fresh cluster and removes the cluster
// afterwards.
package localpg
