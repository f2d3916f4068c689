# Plan-only checks of the Google Cloud root with a mocked provider: no credentials and no Google calls, but
# the provider's schema (so `terraform init` first). Run with `go tool task test:infra`.

mock_provider "google" {
  mock_resource "google_service_account" {
    defaults = {
      email  = "scenario-scheduler-run@my-project.iam.gserviceaccount.com"
      member = "serviceAccount:scenario-scheduler-run@my-project.iam.gserviceaccount.com"
    }
  }
}

# Any existing file will do: the plan only hashes the bundle.
variables {
  project_id  = "my-project"
  source_zip  = "main.tf"
  push_sender = "fcm"
}

run "defaults" {
  command = plan

  assert {
    condition     = google_cloudfunctions2_function.scheduler.service_config[0].environment_variables["PUSH_SENDER"] == "fcm" && google_cloudfunctions2_function.scheduler.service_config[0].environment_variables["GOOGLE_CLOUD_PROJECT"] == "my-project"
    error_message = "The function must get the push sender and GOOGLE_CLOUD_PROJECT."
  }
  assert {
    condition     = !contains(keys(google_cloudfunctions2_function.scheduler.service_config[0].environment_variables), "FCM_PROJECT_ID")
    error_message = "Firebase in the same project needs no FCM_PROJECT_ID."
  }
  assert {
    condition     = length(google_project_service.fcm) == 1 && google_project_service.fcm[0].service == "fcm.googleapis.com"
    error_message = "push_sender = fcm enables the Firebase Cloud Messaging API."
  }
  assert {
    condition     = length(google_project_iam_member.runtime_fcm) == 1 && google_project_iam_member.runtime_fcm[0].role == "roles/firebasecloudmessaging.admin" && google_project_iam_member.runtime_fcm[0].member == google_service_account.runtime.member
    error_message = "The runtime service account must be allowed to send pushes."
  }
  assert {
    condition     = google_cloudfunctions2_function.scheduler.service_config[0].timeout_seconds == 35 && google_cloudfunctions2_function.scheduler.service_config[0].max_instance_request_concurrency == 1
    error_message = "A 35 s timeout and one request per instance are the defaults."
  }
  assert {
    condition     = google_logging_metric.unauthorised.filter != "" && strcontains(google_logging_metric.unauthorised.filter, "jsonPayload.status=401") && strcontains(google_logging_metric.unauthorised.filter, "jsonPayload.message=\"request rejected\"")
    error_message = "401 lines must be counted by the unauthorised-calls metric."
  }
  assert {
    condition     = length(google_monitoring_alert_policy.error_lines.notification_channels) == 0 && google_monitoring_alert_policy.unauthorised.conditions[0].condition_threshold[0].threshold_value == 0
    error_message = "Both alert policies exist without notification channels (incidents in the console)."
  }
}

run "channels" {
  command = plan
  variables {
    notification_channels = ["projects/my-project/notificationChannels/1"]
  }
  assert {
    condition     = google_monitoring_alert_policy.error_lines.notification_channels == tolist(["projects/my-project/notificationChannels/1"]) && google_monitoring_alert_policy.unauthorised.notification_channels == tolist(["projects/my-project/notificationChannels/1"])
    error_message = "Every alert policy notifies the given channels."
  }
}

run "firebase_elsewhere" {
  command = plan
  variables {
    fcm_project_id = "my-firebase"
  }
  assert {
    condition     = google_cloudfunctions2_function.scheduler.service_config[0].environment_variables["FCM_PROJECT_ID"] == "my-firebase" && google_project_iam_member.runtime_fcm[0].project == "my-firebase" && google_project_service.fcm[0].project == "my-firebase"
    error_message = "A Firebase project elsewhere gets the API, the role and FCM_PROJECT_ID."
  }
}

run "no_push" {
  command = plan
  variables {
    push_sender = "none"
  }
  assert {
    condition     = length(google_project_service.fcm) == 0 && length(google_project_iam_member.runtime_fcm) == 0 && google_cloudfunctions2_function.scheduler.service_config[0].environment_variables["PUSH_SENDER"] == "none"
    error_message = "push_sender = none needs neither the API nor the role."
  }
}

run "log_sender_rejected" {
  command = plan
  variables {
    push_sender = "log"
  }
  expect_failures = [var.push_sender]
}

run "log_level_the_function_rejects" {
  command = plan
  variables {
    environment = { LOG_LEVEL = "trace" }
  }
  expect_failures = [var.environment]
}

run "overlap_rejected" {
  command = plan
  variables {
    environment = { SCHEDULER_SECRET = "plain" }
  }
  expect_failures = [google_cloudfunctions2_function.scheduler]
}
