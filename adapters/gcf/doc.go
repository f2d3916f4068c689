// Package gcf runs the scheduler's HTTP contract on Google Cloud Functions (2nd gen) with
// functions-framework-go: Register declares the shared httpfn handler as an HTTP function
// (functions.HTTP), adding the request's trace to its log lines; NewLogger writes the JSON that Cloud
// Logging reads (severity, message, timestamp, logging.googleapis.com/trace). The framework gives each
// request the function's timeout as a context deadline, from which httpfn derives the run's budget.
package gcf
