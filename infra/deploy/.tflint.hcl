# TFLint configuration shared by the Terraform roots infra/deploy/aws and infra/deploy/gcp (`go tool task lint:infra`).
#
# Only the terraform ruleset that is bundled with TFLint is used: it needs no `tflint --init`, no plugin
# download and no provider, so it runs offline and in CI. It checks the language, not the cloud: resource
# arguments are checked by `terraform validate`, which needs the providers (see docs/deploy.md).

config {
  # The roots call no modules; never try to fetch any.
  call_module_type = "none"
}

plugin "terraform" {
  enabled = true
  preset  = "recommended"
}

# Beyond the recommended preset: every variable and output says what it is for, names are snake_case,
# each root keeps the standard layout (variables.tf, outputs.tf, main.tf) and comments use #.
rule "terraform_documented_variables" {
  enabled = true
}

rule "terraform_documented_outputs" {
  enabled = true
}

rule "terraform_naming_convention" {
  enabled = true
}

rule "terraform_standard_module_structure" {
  enabled = true
}

rule "terraform_comment_syntax" {
  enabled = true
}

rule "terraform_unused_required_providers" {
  enabled = true
}
