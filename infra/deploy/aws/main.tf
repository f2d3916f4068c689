# The scenario scheduler on AWS Lambda: the function (custom runtime provided.al2023, the Go binary
# `bootstrap`), its execution role, its environment from SSM Parameter Store and its function URL.
# Logs and alarms are in monitoring.tf. Walkthrough: docs/deploy.md.

locals {
  # The zip `go tool task build:lambda` writes for the chosen architecture.
  zip_arch   = var.architecture == "arm64" ? "arm64" : "amd64"
  lambda_zip = coalesce(var.lambda_zip, "${path.root}/../../dist/lambda/bootstrap-${local.zip_arch}.zip")

  # Secret values read from Parameter Store at plan time (see the note on state in docs/deploy.md).
  secret_environment = { for env, p in data.aws_ssm_parameter.secret : env => p.value }
}

# The secrets: SecureString parameters the operator created with the AWS CLI, so their values never
# appear in Terraform configuration or variables. Terraform reads them with the deployer's credentials
# (ssm:GetParameter, kms:Decrypt) and gives them to the function as environment variables, which Lambda
# encrypts at rest with KMS. The decrypted values are therefore also in the Terraform state: keep the
# state in an encrypted backend only the deployers can read.
data "aws_ssm_parameter" "secret" {
  for_each = var.secret_parameters

  name            = each.value
  with_decryption = true
}

data "aws_iam_policy_document" "assume_lambda" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

# The execution role may write to its own log group and nothing else: the function reaches the database
# over the internet with DATABASE_URL, not through AWS APIs.
resource "aws_iam_role" "scheduler" {
  name               = "${var.name}-lambda"
  description        = "Execution role of the ${var.name} Lambda function"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.scheduler.arn}:*"]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "DecryptEnvironment"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "${var.name}-lambda"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_lambda_function" "scheduler" {
  function_name = var.name
  description   = "Scenario scheduler: evaluates engagement scenarios and writes notifications; called daily by pg_cron through pg_net"
  role          = aws_iam_role.scheduler.arn

  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  filename         = local.lambda_zip
  source_code_hash = filebase64sha256(local.lambda_zip)

  memory_size                    = var.memory_size
  timeout                        = var.timeout_seconds
  reserved_concurrent_executions = var.reserved_concurrency
  kms_key_arn                    = var.kms_key_arn

  environment {
    variables = merge(var.environment, { LOG_LEVEL = lower(var.log_level), PUSH_SENDER = lower(var.push_sender) }, local.secret_environment)
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.scheduler.name
    application_log_level = var.log_level
    system_log_level      = "WARN"
  }

  lifecycle {
    precondition {
      condition     = length(setintersection(keys(var.environment), keys(var.secret_parameters))) == 0
      error_message = "A variable is named both in environment and in secret_parameters; give it in one place."
    }
    precondition {
      condition     = lower(var.push_sender) != "fcm" || contains(keys(var.secret_parameters), "FCM_SERVICE_ACCOUNT_JSON")
      error_message = "push_sender = \"fcm\" needs the service-account key: map FCM_SERVICE_ACCOUNT_JSON in secret_parameters (docs/push.md)."
    }
  }

  # The role's policy must exist before the first invocation writes logs.
  depends_on = [aws_iam_role_policy.scheduler]
}

# The URL pg_net calls; store it in Supabase Vault as scenario_scheduler_url (output vault_sql).
resource "aws_lambda_function_url" "scheduler" {
  function_name      = aws_lambda_function.scheduler.function_name
  authorization_type = var.function_url_auth_type
}

# Auth type NONE: a public URL needs two statements in the function's resource policy. The second one is
# limited to calls through the function URL: a direct Invoke (console, CLI, SDK) carries no headers and is
# trusted by the function as IAM-authorised, so it must never be open to everyone.
resource "aws_lambda_permission" "public_url" {
  count = var.function_url_auth_type == "NONE" ? 1 : 0

  statement_id           = "AllowPublicFunctionUrl"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.scheduler.function_name
  principal              = "*"
  function_url_auth_type = "NONE"
}

resource "aws_lambda_permission" "public_url_invoke" {
  count = var.function_url_auth_type == "NONE" ? 1 : 0

  statement_id             = "AllowPublicInvokeViaFunctionUrl"
  action                   = "lambda:InvokeFunction"
  function_name            = aws_lambda_function.scheduler.function_name
  principal                = "*"
  invoked_via_function_url = true
}

# Auth type AWS_IAM: only the listed principals, with SigV4-signed requests.
resource "aws_lambda_permission" "iam_url" {
  for_each = var.function_url_auth_type == "AWS_IAM" ? toset(var.iam_invoker_arns) : toset([])

  statement_id           = "AllowIamFunctionUrl-${substr(sha1(each.value), 0, 12)}"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.scheduler.function_name
  principal              = each.value
  function_url_auth_type = "AWS_IAM"
}

resource "aws_lambda_permission" "iam_url_invoke" {
  for_each = var.function_url_auth_type == "AWS_IAM" ? toset(var.iam_invoker_arns) : toset([])

  statement_id             = "AllowIamInvokeViaFunctionUrl-${substr(sha1(each.value), 0, 12)}"
  action                   = "lambda:InvokeFunction"
  function_name            = aws_lambda_function.scheduler.function_name
  principal                = each.value
  invoked_via_function_url = true
}
