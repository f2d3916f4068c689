# Inputs of the Google Cloud root. Copy terraform.tfvars.example to terraform.tfvars and adjust; no value
# here is a secret: secrets are named (Secret Manager secret ids), never given.

variable "project_id" {
  description = "Google Cloud project that hosts the function, its source bucket and its service accounts."
  type        = string
}

variable "region" {
  description = "Region of the function. Put it near the Supabase project's region so each database round trip stays short (europe-north1 is Finland, close to Supabase's eu-north-1 in Stockholm)."
  type        = string
  default     = "europe-north1"
}

variable "name" {
  description = "Name of the function (and of the Cloud Run service behind it); also the prefix of its bucket, service accounts and alert."
  type        = string
  default     = "scenario-scheduler"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,20}[a-z0-9]$", var.name))
    error_message = "name must be 2-22 lowercase letters, digits or -, start with a letter and not end with - (it prefixes service account ids, which are limited to 30 characters)."
  }
}

variable "source_zip" {
  description = "Path of the source bundle (go.mod, go.sum and the packages, with the function registered in a root package). null: dist/gcf/source.zip of this repository, as `go tool task build:gcf` writes it."
  type        = string
  default     = null
}

variable "runtime" {
  description = "Cloud Functions Go runtime that builds the bundle. It must be at least the Go version in go.mod (`gcloud functions runtimes list --region=REGION` lists what is available)."
  type        = string
  default     = "go126"
}

variable "memory" {
  description = "Memory of each instance. 128Mi is the minimum and leaves room: the function's peak RSS stays under 64 MB at every benchmarked size (docs/performance.md). CPU is allocated in proportion (128Mi gives a twelfth of a vCPU), so raise it only if runs are CPU-bound."
  type        = string
  default     = "128Mi"
}

variable "timeout_seconds" {
  description = "Request timeout in seconds. Above the scheduler's 30 s budget, so the function stops starting batches, commits its checkpoint and answers before it is cut off; below pg_net's 45 s timeout in scheduler.invoke(), so pg_net records the answer."
  type        = number
  default     = 35

  validation {
    condition     = var.timeout_seconds > 30 && var.timeout_seconds < 45
    error_message = "timeout_seconds must be above the 30 s budget and below pg_net's 45 s request timeout."
  }
}

variable "max_instances" {
  description = "Most instances at once, each serving one request at a time: the most runs that execute in parallel (daily job, catch-up job, split jobs, a manual call). Each run holds a few database connections, so this also bounds the scheduler's share of the connection pool."
  type        = number
  default     = 2

  validation {
    condition     = var.max_instances >= 1 && var.max_instances <= 100
    error_message = "max_instances must be between 1 and 100."
  }
}

variable "secrets" {
  description = "Environment variables taken from Secret Manager: environment variable name => { secret = secret id in project_id, version = version number or \"latest\" }. The secrets are created outside Terraform (docs/deploy.md); DATABASE_URL and SCHEDULER_SECRET are required, add SCHEDULER_SECRET_PREVIOUS while rotating. A pinned version makes a rotation an explicit apply; \"latest\" is read when an instance starts."
  type = map(object({
    secret  = string
    version = optional(string, "latest")
  }))
  default = {
    DATABASE_URL     = { secret = "scenario-scheduler-database-url" }
    SCHEDULER_SECRET = { secret = "scenario-scheduler-secret" }
  }

  validation {
    condition     = alltrue([for k in ["DATABASE_URL", "SCHEDULER_SECRET"] : contains(keys(var.secrets), k)])
    error_message = "secrets must name the secrets of DATABASE_URL and SCHEDULER_SECRET."
  }

  validation {
    condition     = alltrue([for k in keys(var.secrets) : can(regex("^[A-Z][A-Z0-9_]*$", k))])
    error_message = "secrets keys must be environment variable names (A-Z, 0-9, _)."
  }
}

variable "environment" {
  description = "Plain (non-secret) environment variables of the function, such as SCHEDULER_TIMEZONE, LOG_LEVEL (debug, info, warn or error) or the transaction-pooler switch (docs/deploy.md lists them). A name may not also appear in secrets. PUSH_SENDER comes from push_sender, GOOGLE_CLOUD_PROJECT from project_id."
  type        = map(string)
  default = {
    SCHEDULER_TIMEZONE = "Europe/Oslo"
    LOG_LEVEL          = "info"
  }

  validation {
    condition     = contains(["debug", "info", "warn", "error"], lower(lookup(var.environment, "LOG_LEVEL", "info")))
    error_message = "LOG_LEVEL in environment must be debug, info, warn or error (the levels the function accepts)."
  }

  validation {
    condition     = !contains(keys(var.environment), "PUSH_SENDER") && !contains(keys(var.environment), "GOOGLE_CLOUD_PROJECT")
    error_message = "Set the push sender with push_sender, not in environment; GOOGLE_CLOUD_PROJECT is set from project_id."
  }
}

variable "push_sender" {
  description = "How the function delivers pushes, a required choice: fcm (send through Firebase Cloud Messaging as the runtime service account, which this root grants the sending role in fcm_project_id) or none (send nothing: notifications stay pending, in-app only, and each run's report says how many wait). Given to the function as PUSH_SENDER."
  type        = string
  nullable    = false

  validation {
    condition     = contains(["fcm", "none"], lower(var.push_sender))
    error_message = "push_sender must be fcm or none (the log sender is for the quick start and tests only)."
  }
}

variable "fcm_project_id" {
  description = "Firebase project the pushes are sent for, with push_sender = fcm. null: project_id. Another project needs the Firebase Cloud Messaging API enabled there and this root's apply to be allowed to grant roles in it."
  type        = string
  default     = null
}

variable "public_invoker" {
  description = "Grant roles/run.invoker to allUsers, so pg_net (which cannot send Google identity tokens) can call the function; the function authenticates every call itself with the shared secret or its HMAC signature. false: only invoker_members may call it (the Cloud Scheduler + OIDC set-up in docs/deploy.md)."
  type        = bool
  default     = true
}

variable "invoker_members" {
  description = "IAM members (e.g. serviceAccount:cron@PROJECT.iam.gserviceaccount.com) granted roles/run.invoker on the function, with or without public_invoker."
  type        = list(string)
  default     = []
}

variable "notification_channels" {
  description = "Cloud Monitoring notification channel ids (projects/PROJECT/notificationChannels/ID) notified by the alert policies (ERROR log lines, unauthorised calls). Empty: the policies still open incidents in the Cloud Monitoring console, but notify nobody."
  type        = list(string)
  default     = []
}

variable "enable_apis" {
  description = "Enable the Google APIs the deployment uses (Cloud Functions, Cloud Build, Cloud Run, Artifact Registry, Secret Manager, Cloud Storage, Logging, Monitoring, and with push_sender = fcm the Firebase Cloud Messaging API). false where an administrator manages them."
  type        = bool
  default     = true
}

variable "unauthorised_alert_threshold" {
  description = "Rejected calls (HTTP 401: wrong or missing secret, bad or stale signature) in 5 minutes that open the unauthorised-calls incident. 1: the first one, which is what a secret rotated on one side only looks like."
  type        = number
  default     = 1

  validation {
    condition     = var.unauthorised_alert_threshold >= 1
    error_message = "unauthorised_alert_threshold must be at least 1."
  }
}

variable "labels" {
  description = "Labels added to every resource that takes labels, next to application = scenario-scheduler."
  type        = map(string)
  default     = {}
}
