package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/peermentor/scenario-scheduler/engine"
	"github.com/peermentor/scenario-scheduler/functions/config"
	"github.com/peermentor/scenario-scheduler/functions/wire"
)

// local holds the flags for benchmarks and tests: a clock set to a chosen date, the log sender and the
// engine's batch tuning. They are command-line flags, never environment variables, so that no deployment
// can switch them on by a variable (Lambda and Cloud Functions have no command line at all), and they are
// refused unless the server listens on a loopback address: a server with a made-up clock or a sender that
// sends nothing can only be reached from its own machine.
type local struct {
	today       string
	pushLog     bool
	maxBatch    int
	targetBatch time.Duration
	parallelism int
}

// register defines the flags on fs.
func (l *local) register(fs *flag.FlagSet) {
	fs.StringVar(&l.today, "today", "", "benchmarks and tests, loopback only: the engine's clock starts at 07:00 UTC on this date (YYYY-MM-DD)")
	fs.BoolVar(&l.pushLog, "push-log", false, "benchmarks and tests, loopback only: deliver through the log sender (marks pushes sent, sends nothing), whatever PUSH_SENDER says")
	fs.IntVar(&l.maxBatch, "max-batch", 0, "benchmarks and tests, loopback only: engine.Options.MaxBatch (0: the engine's default)")
	fs.DurationVar(&l.targetBatch, "target-batch", 0, "benchmarks and tests, loopback only: engine.Options.TargetBatch (0: the engine's default)")
	fs.IntVar(&l.parallelism, "parallelism", 0, "benchmarks and tests, loopback only: engine.Options.Parallelism (0: the engine's default)")
}

// set reports whether any of the flags is given.
func (l local) set() bool {
	return l.today != "" || l.pushLog || l.maxBatch != 0 || l.targetBatch != 0 || l.parallelism != 0
}

// check refuses the flags on an address other than loopback, and a bad date.
func (l local) check(addr string) error {
	if !l.set() {
		return nil
	}
	// A loopback IP literal only: a name (even localhost) is whatever the resolver makes of it.
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-today, -push-log, -max-batch, -target-batch and -parallelism are for benchmarks and tests: "+
			"they need a loopback -addr such as 127.0.0.1:0 or [::1]:0, not %q", addr)
	}
	if l.today != "" {
		if _, err := time.Parse(engine.DateLayout, l.today); err != nil {
			return errors.New("-today must be a date as YYYY-MM-DD")
		}
	}
	if l.maxBatch < 0 || l.targetBatch < 0 || l.parallelism < 0 {
		return errors.New("-max-batch, -target-batch and -parallelism must not be negative")
	}
	return nil
}

// apply adjusts cfg and returns the wiring options the flags ask for, logging each one in force.
func (l local) apply(cfg *config.Config, log *zap.Logger) []wire.Option {
	if !l.set() {
		return nil
	}
	if l.pushLog {
		cfg.Push.Sender = config.SenderLog
	}
	log.Warn("benchmark and test settings in force (loopback only)", zap.String("today", l.today),
		zap.Bool("push_log", l.pushLog), zap.Int("max_batch", l.maxBatch), zap.Duration("target_batch", l.targetBatch),
		zap.Int("parallelism", l.parallelism))
	return []wire.Option{wire.Engine(func(o *engine.Options) {
		if l.today != "" {
			day, _ := time.Parse(engine.DateLayout, l.today)
			start := time.Now()
			o.Now = func() time.Time { return day.Add(7*time.Hour + time.Since(start)) }
		}
		o.MaxBatch, o.TargetBatch, o.Parallelism = l.maxBatch, l.targetBatch, l.parallelism
	})}
}

// loopbackOnly is the part of the usage text that says so.
var loopbackOnly = strings.TrimSpace(`
Flags marked "loopback only" are refused unless -addr is a loopback address.`)
