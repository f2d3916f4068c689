// Command gcf serves the Cloud Functions entry locally with functions-framework-go, the same way the
// Cloud Functions buildpack's generated main does: it imports the root package (which registers the
// function at init) and calls funcframework.Start on $PORT (default 8080). `task serve:gcf` runs it.
package main

import (
	"fmt"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	scheduler "github.com/peermentor/scenario-scheduler"
)

func main() {
	if os.Getenv("FUNCTION_TARGET") == "" {
		os.Setenv("FUNCTION_TARGET", scheduler.FunctionName)
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	if err := funcframework.StartHostPort(os.Getenv("HOST"), port); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
