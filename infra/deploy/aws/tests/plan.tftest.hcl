# Plan-only checks of the AWS root with a mocked provider: no credentials and no AWS calls, but the
# provider's schema (so `terraform init` first). Run with `go tool task test:infra`.

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{}" }
  }
  mock_data "aws_ssm_parameter" {
    defaults = { value = "secret-value" }
  }
}

# Any existing file will do: the plan only hashes the package.
variables {
  lambda_zip  = "main.tf"
  push_sender = "none"
}

run "defaults" {
  command = plan

  assert {
    condition     = aws_lambda_function.scheduler.timeout == 35 && aws_lambda_function.scheduler.memory_size == 128
    error_message = "The function must default to a 35 s timeout and 128 MB."
  }
  assert {
    condition     = aws_lambda_function.scheduler.logging_config[0].log_format == "JSON"
    error_message = "The function must log in JSON."
  }
  assert {
    condition     = aws_lambda_function.scheduler.environment[0].variables["SCHEDULER_SECRET"] == "secret-value" && aws_lambda_function.scheduler.environment[0].variables["LOG_LEVEL"] == "info" && aws_lambda_function.scheduler.environment[0].variables["SCHEDULER_TIMEZONE"] == "Europe/Oslo"
    error_message = "The environment must hold the SSM values, LOG_LEVEL and SCHEDULER_TIMEZONE."
  }
  assert {
    condition     = length(aws_lambda_permission.public_url) == 1 && length(aws_lambda_permission.public_url_invoke) == 1 && length(aws_lambda_permission.iam_url) == 0
    error_message = "Auth type NONE needs exactly the two public permissions."
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.lambda) == 3 && aws_cloudwatch_log_group.scheduler.name == "/aws/lambda/scenario-scheduler"
    error_message = "Three metric alarms and the /aws/lambda log group are expected."
  }
  assert {
    condition     = aws_lambda_function.scheduler.environment[0].variables["PUSH_SENDER"] == "none"
    error_message = "The function must get the chosen push sender."
  }
  assert {
    condition     = aws_cloudwatch_log_metric_filter.unauthorised.pattern == "{ ($.message = \"request rejected\") && ($.status = 401) }" && aws_cloudwatch_metric_alarm.unauthorised.threshold == 1
    error_message = "401 lines must raise the unauthorised-calls alarm."
  }
  assert {
    condition     = aws_lambda_function.scheduler.reserved_concurrent_executions == 2 && aws_lambda_function.scheduler.architectures[0] == "arm64"
    error_message = "Reserved concurrency 2 on arm64 is the default."
  }
}

run "iam" {
  command = plan
  variables {
    function_url_auth_type = "AWS_IAM"
    iam_invoker_arns       = ["arn:aws:iam::123456789012:role/caller"]
  }
  assert {
    condition     = length(aws_lambda_permission.public_url) == 0 && length(aws_lambda_permission.iam_url) == 1
    error_message = "Auth type AWS_IAM grants the listed principals only."
  }
}

run "overlap_rejected" {
  command = plan
  variables {
    environment = { SCHEDULER_SECRET = "plain" }
  }
  expect_failures = [aws_lambda_function.scheduler]
}

run "missing_secret_rejected" {
  command = plan
  variables {
    secret_parameters = { DATABASE_URL = "/x" }
  }
  expect_failures = [var.secret_parameters]
}

run "timeout_bounds" {
  command = plan
  variables {
    timeout_seconds = 30
  }
  expect_failures = [var.timeout_seconds]
}

run "log_sender_rejected" {
  command = plan
  variables {
    push_sender = "log"
  }
  expect_failures = [var.push_sender]
}

run "fcm_needs_a_key" {
  command = plan
  variables {
    push_sender = "fcm"
  }
  expect_failures = [aws_lambda_function.scheduler]
}

run "fcm_with_key" {
  command = plan
  variables {
    push_sender = "fcm"
    secret_parameters = {
      DATABASE_URL             = "/x/db"
      SCHEDULER_SECRET         = "/x/secret"
      FCM_SERVICE_ACCOUNT_JSON = "/x/fcm"
    }
  }
  assert {
    condition     = aws_lambda_function.scheduler.environment[0].variables["PUSH_SENDER"] == "fcm" && aws_lambda_function.scheduler.environment[0].variables["FCM_SERVICE_ACCOUNT_JSON"] == "secret-value"
    error_message = "fcm gets the sender and its key."
  }
}

run "log_level_the_function_rejects" {
  command = plan
  variables {
    log_level = "TRACE"
  }
  expect_failures = [var.log_level]
}
