# Terraform and provider versions for the AWS Lambda deployment of the scenario scheduler.
#
# invoked_via_function_url on aws_lambda_permission (the second permission a public function URL has needed
# since October 2025) first appeared in provider 6.29.0.
terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.29.0, < 7.0.0"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ Application = "scenario-scheduler" }, var.tags)
  }
}
