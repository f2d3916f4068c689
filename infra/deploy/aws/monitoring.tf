# Logs and alarms of the function.
#
# The function writes one JSON object per log line with a "level" key (Go's log/slog JSON handler); with
# the JSON log format Lambda filters those lines by level and keeps its own platform lines as JSON too,
# so CloudWatch Logs Insights can query the fields of each line (level, msg, ...) directly.

resource "aws_cloudwatch_log_group" "scheduler" {
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
}

# Alarms on the function's own metrics, one notification per 5-minute window with a failure:
#   errors     the invocation itself failed: crash, out of memory or the Lambda timeout
#   throttles  an invocation was refused because reserved_concurrency runs were already executing
#   http_5xx   the function answered 5xx: 500 (internal error, logged with its error id) or 503 (database
#              unreachable; the catch-up job, where scheduled, calls again and resumes the run)
locals {
  lambda_alarms = {
    errors = {
      metric      = "Errors"
      description = "The ${var.name} function failed: crash, out of memory or Lambda timeout. Read its log group."
    }
    throttles = {
      metric      = "Throttles"
      description = "A call to ${var.name} was throttled: reserved concurrency was exhausted."
    }
    http_5xx = {
      metric      = "Url5xxCount"
      description = "The ${var.name} function URL answered 5xx (500 internal error or 503 database unreachable)."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "lambda" {
  for_each = local.lambda_alarms

  alarm_name        = "${var.name}-${replace(each.key, "_", "-")}"
  alarm_description = each.value.description
  namespace         = "AWS/Lambda"
  metric_name       = each.value.metric
  dimensions = {
    FunctionName = aws_lambda_function.scheduler.function_name
  }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}

# ERROR log lines: what the function reports as failed even when it answers 200 (a scenario whose run
# failed while the others completed, a notification it could not write).
resource "aws_cloudwatch_log_metric_filter" "error_lines" {
  name           = "${var.name}-error-lines"
  log_group_name = aws_cloudwatch_log_group.scheduler.name
  pattern        = "{ $.level = \"ERROR\" }"

  metric_transformation {
    namespace     = "ScenarioScheduler/${var.name}"
    name          = "ErrorLogLines"
    value         = "1"
    default_value = "0"
  }
}

resource "aws_cloudwatch_metric_alarm" "error_lines" {
  alarm_name          = "${var.name}-error-log-lines"
  alarm_description   = "The ${var.name} function logged an ERROR line. Read its log group (level = ERROR)."
  namespace           = aws_cloudwatch_log_metric_filter.error_lines.metric_transformation[0].namespace
  metric_name         = aws_cloudwatch_log_metric_filter.error_lines.metric_transformation[0].name
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}

# Unauthorised calls: the function answers 401 and logs `"message": "request rejected", "status": 401` at
# INFO. A secret rotated in Vault but not in SSM (or the reverse) fails the daily call with a 401 every time,
# and nothing else would notice: the invocation itself succeeds.
resource "aws_cloudwatch_log_metric_filter" "unauthorised" {
  name           = "${var.name}-unauthorised-calls"
  log_group_name = aws_cloudwatch_log_group.scheduler.name
  pattern        = "{ ($.message = \"request rejected\") && ($.status = 401) }"

  metric_transformation {
    namespace     = "ScenarioScheduler/${var.name}"
    name          = "UnauthorisedCalls"
    value         = "1"
    default_value = "0"
  }
}

resource "aws_cloudwatch_metric_alarm" "unauthorised" {
  alarm_name          = "${var.name}-unauthorised-calls"
  alarm_description   = "The ${var.name} function rejected a call with 401: the secret in Supabase Vault does not match the function's (docs/deploy.md, rotating the secret), or someone without it called the URL."
  namespace           = aws_cloudwatch_log_metric_filter.unauthorised.metric_transformation[0].namespace
  metric_name         = aws_cloudwatch_log_metric_filter.unauthorised.metric_transformation[0].name
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.unauthorised_alarm_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}
