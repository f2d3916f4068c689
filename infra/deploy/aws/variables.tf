# Inputs of the AWS root. Copy terraform.tfvars.example to terraform.tfvars and adjust; no value here is
# a secret: secrets are named (SSM parameter names), never given.

variable "region" {
  description = "AWS region of the function. Put it next to the Supabase project's region (eu-north-1 is Stockholm) so each database round trip stays short."
  type        = string
  default     = "eu-north-1"
}

variable "name" {
  description = "Name of the Lambda function; also the prefix of its IAM role, log group and alarms."
  type        = string
  default     = "scenario-scheduler"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,48}$", var.name))
    error_message = "name must be 1-48 letters, digits, - or _ (it prefixes longer resource names)."
  }
}

variable "lambda_zip" {
  description = "Path of the deployment package (a zip holding one file, bootstrap). null: dist/lambda/bootstrap-<arch>.zip of this repository, as `go tool task build:lambda` writes it."
  type        = string
  default     = null
}

variable "architecture" {
  description = "Instruction set of the function: arm64 (Graviton, the default: cheaper per GB-second) or x86_64. The zip must be built for the same one."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "memory_size" {
  description = "Memory of the function in MB. 128 is the minimum and leaves room: the function's peak RSS stays under 64 MB at every benchmarked size (docs/performance.md). Lambda allocates CPU in proportion to memory, so raise it only if runs are CPU-bound."
  type        = number
  default     = 128

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MB."
  }
}

variable "timeout_seconds" {
  description = "Lambda timeout in seconds. Above the scheduler's 30 s budget, so the function stops starting batches, commits its checkpoint and answers before Lambda kills it; below pg_net's 45 s timeout in scheduler.invoke(), so pg_net records the answer."
  type        = number
  default     = 35

  validation {
    condition     = var.timeout_seconds > 30 && var.timeout_seconds < 45
    error_message = "timeout_seconds must be above the 30 s budget and below pg_net's 45 s request timeout."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions: the most runs that can execute at once (the daily job, the catch-up job, a split schedule's jobs and a manual call). Each run holds a few database connections, so this also bounds the scheduler's share of the connection pool. -1 reserves nothing (needed in accounts whose concurrency quota is still 10)."
  type        = number
  default     = 2

  validation {
    condition     = var.reserved_concurrency == -1 || var.reserved_concurrency >= 1
    error_message = "reserved_concurrency must be -1 (unreserved) or at least 1 (0 would disable the function)."
  }
}

variable "secret_parameters" {
  description = "Environment variables taken from SSM Parameter Store SecureString parameters: environment variable name => parameter name. The parameters are created outside Terraform (docs/deploy.md); DATABASE_URL and SCHEDULER_SECRET are required, add SCHEDULER_SECRET_PREVIOUS while rotating the secret."
  type        = map(string)
  default = {
    DATABASE_URL     = "/scenario-scheduler/database-url"
    SCHEDULER_SECRET = "/scenario-scheduler/scheduler-secret"
  }

  validation {
    condition     = alltrue([for k in ["DATABASE_URL", "SCHEDULER_SECRET"] : contains(keys(var.secret_parameters), k)])
    error_message = "secret_parameters must name the parameters of DATABASE_URL and SCHEDULER_SECRET."
  }

  validation {
    condition     = alltrue([for k in keys(var.secret_parameters) : can(regex("^[A-Z][A-Z0-9_]*$", k))])
    error_message = "secret_parameters keys must be environment variable names (A-Z, 0-9, _)."
  }
}

variable "environment" {
  description = "Plain (non-secret) environment variables of the function, such as SCHEDULER_TIMEZONE or the transaction-pooler switch (docs/deploy.md lists them). A name may not also appear in secret_parameters. PUSH_SENDER and LOG_LEVEL come from push_sender and log_level."
  type        = map(string)
  default = {
    SCHEDULER_TIMEZONE = "Europe/Oslo"
  }

  validation {
    condition     = !contains(keys(var.environment), "PUSH_SENDER") && !contains(keys(var.environment), "LOG_LEVEL")
    error_message = "Set the push sender with push_sender and the log level with log_level, not in environment."
  }
}

variable "push_sender" {
  description = "How the function delivers pushes, a required choice: fcm (send through Firebase Cloud Messaging; give the service-account key in secret_parameters as FCM_SERVICE_ACCOUNT_JSON, docs/push.md) or none (send nothing: notifications stay pending, in-app only, and each run's report says how many wait). Given to the function as PUSH_SENDER."
  type        = string
  nullable    = false

  validation {
    condition     = contains(["fcm", "none"], lower(var.push_sender))
    error_message = "push_sender must be fcm or none (the log sender is for the quick start and tests only)."
  }
}

variable "log_level" {
  description = "Lowest level of the function's JSON log lines (DEBUG, INFO, WARN or ERROR): given to the function as LOG_LEVEL and to Lambda, which passes only those lines to CloudWatch. The unauthorised-calls alarm matches INFO lines: keep INFO or DEBUG for it to see them."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARN", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARN or ERROR (the levels the function accepts)."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the function's logs (a value CloudWatch accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the retention periods CloudWatch Logs accepts."
  }
}

variable "function_url_auth_type" {
  description = "Auth type of the function URL. NONE (default): anyone may reach the URL and the function itself authenticates every call with the shared secret or its HMAC signature, which is what pg_net can send. AWS_IAM: callers must sign requests with SigV4 as a principal in iam_invoker_arns; pg_net cannot, so use it only with a signing proxy or another caller."
  type        = string
  default     = "NONE"

  validation {
    condition     = contains(["NONE", "AWS_IAM"], var.function_url_auth_type)
    error_message = "function_url_auth_type must be NONE or AWS_IAM."
  }
}

variable "iam_invoker_arns" {
  description = "With function_url_auth_type = AWS_IAM: ARNs of the IAM principals (roles, users or accounts) allowed to call the function URL. Ignored with NONE."
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "ARN of a customer-managed KMS key that encrypts the function's environment variables at rest. null: Lambda's AWS-managed key."
  type        = string
  default     = null
}

variable "alarm_actions" {
  description = "ARNs notified when an alarm fires or clears, usually one SNS topic with an e-mail or chat subscription. Empty: the alarms only show in the CloudWatch console."
  type        = list(string)
  default     = []
}

variable "unauthorised_alarm_threshold" {
  description = "Rejected calls (HTTP 401: wrong or missing secret, bad or stale signature) in 5 minutes that raise the unauthorised-calls alarm. 1: the first one, which is what a secret rotated on one side only looks like."
  type        = number
  default     = 1

  validation {
    condition     = var.unauthorised_alarm_threshold >= 1
    error_message = "unauthorised_alarm_threshold must be at least 1."
  }
}

variable "tags" {
  description = "Tags added to every resource, next to Application = scenario-scheduler."
  type        = map(string)
  default     = {}
}
