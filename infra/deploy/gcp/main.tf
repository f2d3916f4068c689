# The scenario scheduler on Google Cloud Functions (2nd gen, an HTTP function served by Cloud Run):
# the source bundle in a bucket, the build and runtime service accounts, the function with its secrets
# from Secret Manager, who may invoke it, and an alert on ERROR log lines. Walkthrough: docs/deploy.md.

locals {
  # The function is registered in the bundle's root package as functions.HTTP("ScenarioScheduler", ...).
  entry_point = "ScenarioScheduler"
  source_zip  = coalesce(var.source_zip, "${path.root}/../../dist/gcf/source.zip")

  apis = [
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ]

  fcm_project_id = coalesce(var.fcm_project_id, var.project_id)
  push_by_fcm    = lower(var.push_sender) == "fcm"
}

resource "google_project_service" "api" {
  for_each = var.enable_apis ? toset(local.apis) : toset([])

  service            = each.value
  disable_on_destroy = false
}

# Push delivery through FCM HTTP v1 (docs/push.md): the API in the Firebase project, and the runtime
# service account allowed to send there. The function then uses its own identity (Application Default
# Credentials): no key to store or rotate.
resource "google_project_service" "fcm" {
  count = var.enable_apis && local.push_by_fcm ? 1 : 0

  project            = local.fcm_project_id
  service            = "fcm.googleapis.com"
  disable_on_destroy = false
}

resource "google_project_iam_member" "runtime_fcm" {
  count = local.push_by_fcm ? 1 : 0

  project = local.fcm_project_id
  role    = "roles/firebasecloudmessaging.admin"
  member  = google_service_account.runtime.member
}

# The bundle is uploaded under a name derived from its MD5, so a changed bundle is a new object and the
# function is rebuilt from it; an unchanged one (the build is reproducible) changes nothing.
resource "google_storage_bucket" "source" {
  name                        = "${var.project_id}-${var.name}-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true

  depends_on = [google_project_service.api]
}

resource "google_storage_bucket_object" "source" {
  name   = "source-${filemd5(local.source_zip)}.zip"
  bucket = google_storage_bucket.source.name
  source = local.source_zip
}

# Runtime identity: may read its own secrets (and, with push_sender = fcm, send pushes) and nothing else.
resource "google_service_account" "runtime" {
  account_id   = "${var.name}-run"
  display_name = "${var.name} function runtime"
}

resource "google_secret_manager_secret_iam_member" "runtime" {
  for_each = var.secrets

  secret_id = each.value.secret
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.runtime.member
}

# Build identity: Cloud Build turns the bundle into the function's image with this account, not with the
# project's default compute account (which new projects no longer give broad roles).
resource "google_service_account" "build" {
  account_id   = "${var.name}-build"
  display_name = "${var.name} function build"
}

resource "google_project_iam_member" "build" {
  project = var.project_id
  role    = "roles/cloudbuild.builds.builder"
  member  = google_service_account.build.member
}

resource "google_cloudfunctions2_function" "scheduler" {
  name        = var.name
  location    = var.region
  description = "Scenario scheduler: evaluates engagement scenarios and writes notifications; called daily by pg_cron through pg_net"

  build_config {
    runtime         = var.runtime
    entry_point     = local.entry_point
    service_account = google_service_account.build.id

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory                 = var.memory
    timeout_seconds                  = var.timeout_seconds
    min_instance_count               = 0
    max_instance_count               = var.max_instances
    max_instance_request_concurrency = 1
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.runtime.email
    # GOOGLE_CLOUD_PROJECT lets log lines name their trace (projects/ID/traces/...), so Cloud Logging groups a
    # request's lines; FCM_PROJECT_ID only when Firebase lives elsewhere.
    environment_variables = merge(var.environment, {
      PUSH_SENDER          = lower(var.push_sender)
      GOOGLE_CLOUD_PROJECT = var.project_id
      }, local.push_by_fcm && local.fcm_project_id != var.project_id ? { FCM_PROJECT_ID = local.fcm_project_id } : {}
    )

    dynamic "secret_environment_variables" {
      for_each = var.secrets
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value.secret
        version    = secret_environment_variables.value.version
      }
    }
  }

  lifecycle {
    precondition {
      condition     = length(setintersection(keys(var.environment), keys(var.secrets))) == 0
      error_message = "A variable is named both in environment and in secrets; give it in one place."
    }
  }

  # The runtime account must be able to read the secrets when the first revision starts.
  depends_on = [
    google_project_service.api,
    google_project_service.fcm,
    google_project_iam_member.build,
    google_project_iam_member.runtime_fcm,
    google_secret_manager_secret_iam_member.runtime,
  ]
}

# Who may call the function. A 2nd gen function is a Cloud Run service of the same name, and invoking it
# needs roles/run.invoker on that service. allUsers only because the function authenticates each call
# itself (shared secret or HMAC signature); an organisation policy restricting allUsers blocks this
# binding, in which case use public_invoker = false and the Cloud Scheduler set-up in docs/deploy.md.
resource "google_cloud_run_service_iam_member" "public" {
  count = var.public_invoker ? 1 : 0

  location = google_cloudfunctions2_function.scheduler.location
  service  = google_cloudfunctions2_function.scheduler.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_cloud_run_service_iam_member" "invoker" {
  for_each = toset(var.invoker_members)

  location = google_cloudfunctions2_function.scheduler.location
  service  = google_cloudfunctions2_function.scheduler.name
  role     = "roles/run.invoker"
  member   = each.value
}

# One notification when the function logs an ERROR line (the function writes JSON lines with a "severity"
# key), at most one per 30 minutes. Without notification channels the incident still opens in the console.
resource "google_monitoring_alert_policy" "error_lines" {
  display_name          = "${var.name}: ERROR log line"
  combiner              = "OR"
  notification_channels = var.notification_channels

  conditions {
    display_name = "The ${var.name} function logged an ERROR line"
    condition_matched_log {
      filter = join(" AND ", [
        "resource.type=\"cloud_run_revision\"",
        "resource.labels.service_name=\"${google_cloudfunctions2_function.scheduler.name}\"",
        "(jsonPayload.level=\"ERROR\" OR severity>=ERROR)",
      ])
    }
  }

  alert_strategy {
    notification_rate_limit {
      period = "1800s"
    }
    auto_close = "86400s"
  }

  documentation {
    content   = "Read the function's logs: gcloud functions logs read ${var.name} --region=${var.region} --limit=50"
    mime_type = "text/markdown"
  }
}

# Unauthorised calls: the function answers 401 and logs `"message": "request rejected", "status": 401` at
# INFO. A secret rotated in Vault but not in Secret Manager (or the reverse) fails the daily call with a
# 401 every time, and the invocation itself looks healthy. A log-based metric counts those lines.
resource "google_logging_metric" "unauthorised" {
  name = "${var.name}/unauthorised_calls"
  filter = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "resource.labels.service_name=\"${google_cloudfunctions2_function.scheduler.name}\"",
    "jsonPayload.message=\"request rejected\"",
    "jsonPayload.status=401",
  ])

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }
}

resource "google_monitoring_alert_policy" "unauthorised" {
  display_name          = "${var.name}: unauthorised calls"
  combiner              = "OR"
  notification_channels = var.notification_channels

  conditions {
    display_name = "The ${var.name} function rejected calls with 401"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.unauthorised.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.unauthorised_alert_threshold - 1
      duration        = "0s"

      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    content   = "The function answered 401: the secret in Supabase Vault does not match the function's (docs/deploy.md, rotating the secret), or someone without it called the URL. Read the lines: gcloud functions logs read ${var.name} --region=${var.region} --limit=50"
    mime_type = "text/markdown"
  }
}
