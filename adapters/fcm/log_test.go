package fcm_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/peermentor/scenario-scheduler/adapters/fcm"
	"github.com/peermentor/scenario-scheduler/engine"
)

// TestLogSenderKeepsTextOutOfInfo: at info level the log sender writes ids only, never a mentor's name or
// a message's text; at debug level the text is there for local work.
func TestLogSenderKeepsTextOutOfInfo(t *testing.T) {
	m := engine.Message{NotificationID: 7, Scenario: engine.Milestone, Token: "device-token-123456",
		Title: "Gratulerer, Kari!", Body: "Kari Nordmann har 25 aktiviteter", CollapseKey: "notification-7"}
	for _, level := range []zapcore.Level{zapcore.InfoLevel, zapcore.DebugLevel} {
		var buf bytes.Buffer
		log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&buf), level))
		if _, err := fcm.NewLogSender(log).Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if !strings.Contains(out, `"notification_id":7`) {
			t.Errorf("%s: no notification id in %s", level, out)
		}
		hasText := strings.Contains(out, "Kari") || strings.Contains(out, "aktiviteter")
		if level == zapcore.InfoLevel && hasText {
			t.Errorf("info level shows a name or the message text: %s", out)
		}
		if level == zapcore.DebugLevel && !hasText {
			t.Errorf("debug level lacks the message text: %s", out)
		}
		if strings.Contains(out, "device-token-123456") {
			t.Errorf("%s: the whole device token is logged: %s", level, out)
		}
	}
}
