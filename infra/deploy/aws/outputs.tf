# What the operator needs after `terraform apply`: the URL to store in Supabase Vault and where to look.

output "function_url" {
  description = "The function URL. Store it in Supabase Vault as scenario_scheduler_url (see vault_sql) and pass it to `task verify` as FUNCTION_URL."
  value       = aws_lambda_function_url.scheduler.function_url
}

output "health_url" {
  description = "GET this URL to see which configuration variables the function has (names only, never values)."
  value       = "${trimsuffix(aws_lambda_function_url.scheduler.function_url, "/")}/healthz"
}

output "vault_sql" {
  description = "SQL that stores the function URL in Supabase Vault (run it in the SQL editor or with psql). For a later URL change use vault.update_secret."
  value       = "select vault.create_secret('${aws_lambda_function_url.scheduler.function_url}', 'scenario_scheduler_url', 'Scenario scheduler function URL');"
}

output "function_name" {
  description = "Name of the Lambda function (for `aws lambda invoke` and the console)."
  value       = aws_lambda_function.scheduler.function_name
}

output "log_group_name" {
  description = "CloudWatch log group of the function (for `aws logs tail --follow`)."
  value       = aws_cloudwatch_log_group.scheduler.name
}
