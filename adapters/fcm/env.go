package fcm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.uber.org/zap"

	"github.com/peermentor/scenario-scheduler/engine"
)

// The environment variables FromEnv reads.
const (
	// EnvSender chooses the sender: "log" (default: log pushes, send nothing), "fcm", or "off" (no delivery
	// step at all).
	EnvSender = "PUSH_SENDER"
	// EnvProjectID is the Firebase project id (default: the service account's project_id).
	EnvProjectID = "FCM_PROJECT_ID"
	// EnvServiceAccountJSON holds a service-account key's JSON itself (for secret stores that inject values).
	EnvServiceAccountJSON = "FCM_SERVICE_ACCOUNT_JSON"
	// EnvCredentialsFile is the path of a service-account key file (Google's standard variable). Without it
	// and without EnvServiceAccountJSON, the runtime's own service account is used (Google Cloud only).
	EnvCredentialsFile = "GOOGLE_APPLICATION_CREDENTIALS"
	// EnvEndpoint overrides FCM's base URL (an emulator or a test server).
	EnvEndpoint = "FCM_ENDPOINT"
)

// EnvNames lists the variables above, for a health check that shows which are set.
var EnvNames = []string{EnvSender, EnvProjectID, EnvServiceAccountJSON, EnvCredentialsFile, EnvEndpoint}

// FromEnv returns the sender the environment asks for (getenv is os.Getenv in production), or nil when
// PUSH_SENDER is "off". Its error names every variable that is wrong.
func FromEnv(ctx context.Context, getenv func(string) string, log *zap.Logger) (engine.Sender, error) {
	switch kind := strings.ToLower(strings.TrimSpace(getenv(EnvSender))); kind {
	case "", "log":
		return NewLogSender(log), nil
	case "off":
		return nil, nil
	case "fcm":
	default:
		return nil, fmt.Errorf("%s must be log, fcm or off, got %q", EnvSender, kind)
	}

	cfg := Config{ProjectID: strings.TrimSpace(getenv(EnvProjectID)), Endpoint: strings.TrimSpace(getenv(EnvEndpoint)), Logger: log}
	var problems []string
	switch inline, file := getenv(EnvServiceAccountJSON), getenv(EnvCredentialsFile); {
	case strings.TrimSpace(inline) != "":
		cfg.CredentialsJSON = []byte(inline)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: cannot read the key file: %v", EnvCredentialsFile, err))
		}
		cfg.CredentialsJSON = b
	}
	if cfg.Endpoint != "" && !strings.HasPrefix(cfg.Endpoint, "https://") && !strings.HasPrefix(cfg.Endpoint, "http://") {
		problems = append(problems, fmt.Sprintf("%s must be an http(s) URL", EnvEndpoint))
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	s, err := New(ctx, cfg)
	if err != nil {
		which := EnvServiceAccountJSON + " / " + EnvCredentialsFile
		if cfg.CredentialsJSON == nil {
			which = "Application Default Credentials (set " + EnvServiceAccountJSON + " or " + EnvCredentialsFile + ")"
		}
		return nil, fmt.Errorf("%s=fcm: %s: %w", EnvSender, which, err)
	}
	return s, nil
}
