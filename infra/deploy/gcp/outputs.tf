# What the operator needs after `terraform apply`: the URL to store in Supabase Vault and where to look.

# The function's own run.app URL, not the cloudfunctions.net/<name> alias: the alias strips /<name> from the
# path before the function sees it, and the request signature covers the path (docs/supabase.md).
output "function_url" {
  description = "The function's HTTPS URL (its run.app URL, whose path reaches the function unchanged, as the request signature needs). Store it in Supabase Vault as scenario_scheduler_url (see vault_sql) and pass it to `task verify` as FUNCTION_URL."
  value       = google_cloudfunctions2_function.scheduler.service_config[0].uri
}

output "health_url" {
  description = "GET this URL to see which configuration variables the function has (names only, never values)."
  value       = "${trimsuffix(google_cloudfunctions2_function.scheduler.service_config[0].uri, "/")}/healthz"
}

output "vault_sql" {
  description = "SQL that stores the function URL in Supabase Vault (run it in the SQL editor or with psql). For a later URL change use vault.update_secret."
  value       = "select vault.create_secret('${google_cloudfunctions2_function.scheduler.service_config[0].uri}', 'scenario_scheduler_url', 'Scenario scheduler function URL');"
}

output "function_name" {
  description = "Name of the function (and of its Cloud Run service)."
  value       = google_cloudfunctions2_function.scheduler.name
}

output "runtime_service_account" {
  description = "Service account the function runs as; it may read the configured secrets and, with push_sender = fcm, send pushes in the Firebase project."
  value       = google_service_account.runtime.email
}

output "logs_command" {
  description = "Command that shows the function's latest log lines."
  value       = "gcloud functions logs read ${google_cloudfunctions2_function.scheduler.name} --region=${var.region} --limit=50"
}
