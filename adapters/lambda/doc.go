// Package lambda runs the scheduler's HTTP contract on AWS Lambda (aws-lambda-go). An invocation is either
// a Lambda Function URL request (payload format 2.0), which is translated into an *http.Request, served by
// the shared httpfn handler (secret or signature required) and translated back into the Function URL
// response; or any other payload, taken as a raw invocation such as the console's "Test" event ({} or a
// bare request body): it carries no headers and is trusted because IAM authorised the invoke, and its
// report says trigger "direct". The run's budget comes from the invocation's deadline. Logs use the keys of
// Lambda's JSON log format (timestamp, level, message, requestId).
package lambda
