package fcm

import (
	"context"
	"strconv"

	"go.uber.org/zap"

	"github.com/peermentor/scenario-scheduler/engine"
)

// LogSender is the local sender of the quick start and tests: it logs each push and sends nothing. Every
// push "succeeds". At info level it logs only ids (never a name or a message text); the title and body are
// logged at debug level.
type LogSender struct {
	log *zap.Logger
}

var _ engine.Sender = (*LogSender)(nil)

// NewLogSender returns a sender that logs to log (nil: nowhere).
func NewLogSender(log *zap.Logger) *LogSender {
	if log == nil {
		log = zap.NewNop()
	}
	return &LogSender{log: log}
}

// Send implements engine.Sender.
func (s *LogSender) Send(_ context.Context, m engine.Message) (engine.Result, error) {
	s.log.Info("push (log sender, not sent)", zap.Int64("notification_id", m.NotificationID),
		zap.String("scenario", m.Scenario), zap.String("token", redact(m.Token)))
	s.log.Debug("push text (log sender)", zap.Int64("notification_id", m.NotificationID),
		zap.String("title", m.Title), zap.String("body", m.Body))
	return engine.Result{Attempts: 1, ID: "log/" + strconv.FormatInt(m.NotificationID, 10)}, nil
}

// redact keeps a token's last characters, enough to tell devices apart in a log.
func redact(token string) string {
	if len(token) <= 6 {
		return "…"
	}
	return "…" + token[len(token)-6:]
}
