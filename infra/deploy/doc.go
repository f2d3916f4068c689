// Package infra holds what deploys and runs the scenario scheduler outside
// its own code: the Terraform roots for AWS Lambda (aws/) and Google Cloud
// Functions (gcp/), the throw-away PostgreSQL runner (localpg/) and the
// commands under cmd/.
//
// The package itself has no code. Its tests run `go tool task lint:infra`,
// the same command CI runs, on the Terraform roots and on broken copies of
// them, so that the lint is known both to pass on the repository and to fail
// on a mis-formatted file, a syntax error or an undocumented variable. The
// roots are checked offline with hclfmt and TFLint's bundled terraform
// ruleset; `terraform validate`, `plan` and `apply` need the providers and a
// cloud account (docs/deploy.md says what was and was not validated).
package deploy
