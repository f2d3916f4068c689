// Package deploy holds the deployment roots: the Terraform roots for AWS Lambda (aws/) and Google Cloud
// Functions (gcp/) and the TFLint configuration they share (.tflint.hcl). The rest of infra/ is arranged
// by role as well: infra/dev holds the development tools (localpg, verify, status, quickstart, pack,
// benchdata, proctest, the pinned Supabase CLI), each command in cmd/ beside its package, and infra/test
// the benchmark (with its results) and the chaos suite; docs/architecture.md draws the map.
//
// The package itself has no code. Its tests run `go tool task lint:infra`, the same command CI runs, on
// the Terraform roots and on broken copies of them, so that the lint is known both to pass on the
// repository and to fail on a mis-formatted file, a syntax error or an undocumented variable. The roots are
// checked offline with hclfmt and TFLint's bundled terraform ruleset; `terraform validate`, `plan` and
// `apply` need the providers and a cloud account (docs/deploy.md says what was and was not validated).
package deploy
