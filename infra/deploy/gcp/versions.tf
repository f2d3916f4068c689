# Terraform and provider versions for the Google Cloud Functions (2nd gen) deployment of the scenario
# scheduler. build_config.service_account (a dedicated build service account) needs a 6.x or later provider.
terraform {
  required_version = ">= 1.6.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0.0, < 8.0.0"
    }
  }
}

provider "google" {
  project        = var.project_id
  region         = var.region
  default_labels = merge({ application = "scenario-scheduler" }, var.labels)
}
