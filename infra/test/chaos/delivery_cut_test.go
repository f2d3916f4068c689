package chaos_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/peermentor/scenario-scheduler/adapters/fcm/fcmtest"
	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/engine"
	"github.com/peermentor/scenario-scheduler/functions/config"
	"github.com/peermentor/scenario-scheduler/functions/wire"
)

// deliveryRig is the function served in-process over a populated database whose mentors each have one
// device, pushing to a local FCM server, with an administrator's pool to cut the function's connections.
type deliveryRig struct {
	db     string // the test database's name
	admin  *pgxpool.Pool
	fcm    *fcmtest.Server
	server *httptest.Server
	logs   *observer.ObservedLogs
}

// newDeliveryRig populates a fresh database with n mentors, gives every active one a device and serves the
// scheduler with the given budget. Quiet hours are off: the test runs at any hour.
func newDeliveryRig(t *testing.T, n int, budget time.Duration) *deliveryRig {
	t.Helper()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	admin, err := pgxpool.New(ctx, pgtest.AdminURL(t, url))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)
	if err := pgtest.Populate(ctx, admin, n, today); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`insert into public.device_tokens (user_id, token, platform)
		 select id, 'tok-' || id, 'android' from public.peer_mentors where status = 'active'`,
		`update scheduler.delivery_config set quiet_start = '00:00', quiet_end = '00:00' where organisation_id is null`,
	} {
		if _, err := admin.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	rig := &deliveryRig{admin: admin, fcm: fcmtest.New(t)}
	if err := admin.QueryRow(ctx, `select current_database()`).Scan(&rig.db); err != nil {
		t.Fatal(err)
	}
	// Each push takes a few milliseconds, as over a network: a batch's sends last long enough to be cut.
	rig.fcm.Fallback(fcmtest.Slow(8 * time.Millisecond))
	core, logs := observer.New(zapcore.InfoLevel)
	rig.logs = logs
	c := config.Config{DatabaseURL: url, Secret: secret, Deadline: budget,
		Push: config.Push{Sender: config.SenderFCM, CredentialsJSON: rig.fcm.CredentialsJSON(), Endpoint: rig.fcm.URL}}
	// Four sends in flight: a call sends at most about 1,000 of the 1,700-odd pushes, so that a second call
	// has pushes to send when the outage comes.
	s, err := wire.New(ctx, c, zap.New(core), wire.Store(func(p *postgres.Config) { p.MaxConns, p.Lazy = 8, false }),
		wire.Engine(func(o *engine.Options) { o.Delivery.Concurrency = 4 }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	rig.server = httptest.NewServer(s.Handler)
	t.Cleanup(rig.server.Close)
	return rig
}

// call is one invocation: its answer, the Retry-After header, and the FCM requests it made.
type call struct {
	answer
	retryAfter string
	first, end int // fcm.Requests()[first:end]
}

// post invokes the scheduler as pg_net does.
func (rig *deliveryRig) post(t *testing.T) call {
	t.Helper()
	c := call{first: rig.fcm.Received()}
	body := fmt.Sprintf(`{"evaluation_date": %q}`, today.Format(engine.DateLayout))
	req, err := http.NewRequest(http.MethodPost, rig.server.URL, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(httpfn.SecretHeader, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	c.status, c.body, c.retryAfter = resp.StatusCode, string(raw), resp.Header.Get("Retry-After")
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, &c.report); err != nil {
			t.Fatalf("a 200 answer that is not a report: %v: %s", err, raw)
		}
	}
	c.end = rig.fcm.Received()
	return c
}

// cut ends every backend of the function's pool (application_name scenario-scheduler) in the test
// database, as an administrator; it returns how many it ended.
func (rig *deliveryRig) cut(ctx context.Context) int {
	var n int
	_ = rig.admin.QueryRow(ctx, `select count(*) filter (where pg_terminate_backend(pid)) from pg_stat_activity
		where datname = $1 and application_name = 'scenario-scheduler'`, rig.db).Scan(&n)
	return n
}

// outage makes the database refuse the function's new connections and ends its backends; the returned
// function ends the outage.
func (rig *deliveryRig) outage(t *testing.T, ctx context.Context) (end func()) {
	if _, err := rig.admin.Exec(ctx, fmt.Sprintf(`alter database %s connection limit 0`, rig.db)); err != nil {
		t.Errorf("starting the outage: %v", err)
	}
	rig.cut(ctx)
	return func() {
		if _, err := rig.admin.Exec(context.Background(), fmt.Sprintf(`alter database %s connection limit -1`, rig.db)); err != nil {
			t.Fatalf("ending the outage: %v", err)
		}
	}
}

// duringSends waits until the local FCM server has answered at least n more requests and is handling one:
// the function is then between a batch's claim and its record, its connections idle. It reports false when
// ctx ends first.
func (rig *deliveryRig) duringSends(ctx context.Context, n int) bool {
	from := rig.fcm.Received()
	for ctx.Err() == nil {
		if rig.fcm.Received() >= from+n && rig.fcm.InFlight() > 0 {
			return true
		}
		time.Sleep(500 * time.Microsecond)
	}
	return false
}

// notSent lists the notifications among ids that are not recorded as sent.
func (rig *deliveryRig) notSent(t *testing.T, ids []int64) []int64 {
	t.Helper()
	var out []int64
	if err := rig.admin.QueryRow(context.Background(), `select coalesce(array_agg(id order by id), '{}') from public.notifications
		where id = any($1) and status <> 'sent'`, ids).Scan(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// accepted lists the notifications FCM accepted (answered 200 to a client still waiting) among requests.
func accepted(t *testing.T, requests []fcmtest.Request) []int64 {
	t.Helper()
	var ids []int64
	for _, r := range requests {
		if !r.Delivered {
			continue
		}
		id, err := strconv.ParseInt(r.Data["notification_id"], 10, 64)
		if err != nil {
			t.Fatalf("a push without its notification id: %+v", r)
		}
		ids = append(ids, id)
	}
	return ids
}

// TestDeliveryCutWhileRecording ends the function's database backends at random moments of its delivery,
// while a batch's pushes are with FCM: the statement that records their results then meets a dead
// connection (it used to answer 200 failed, and the pushes FCM had accepted stayed pending and went out a
// second time once their lease ended). The results must be recorded on a fresh connection and the call
// answer 200, and no push FCM accepted may be sent again. One call meets an outage instead (the database
// refuses the function's connections until the call has answered): its last batch cannot be recorded at
// all, and the call must answer 503 with Retry-After so that the caller tries again; only that batch's
// pushes may go out twice. CHAOS_SEED replays a sequence.
func TestDeliveryCutWhileRecording(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("CHAOS_SEED"), 10, 64); err == nil {
		seed = s
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("CHAOS_SEED=%d", seed)

	rig := newDeliveryRig(t, 2000, 3*time.Second)
	var (
		calls       []call
		cuts        int
		unrecorded  = map[int64]bool{} // accepted by FCM in the outage, never recorded: may go out twice
		outageSeen  bool               // the outage comes in the second call (or the next one that sends)
		deadline    = time.Now().Add(2 * time.Minute)
		drained     bool
		leasedAfter int
	)
	for !drained {
		if time.Now().After(deadline) {
			t.Fatalf("the outbox was not drained within 2 minutes (%d calls)", len(calls))
		}
		i := len(calls)
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var endOutage func()
		cutsThisCall := 0
		wg.Go(func() {
			if i >= 1 && !outageSeen {
				if rig.duringSends(ctx, 1+rng.IntN(200)) {
					endOutage = rig.outage(t, ctx)
				}
				return
			}
			// Up to three cuts, each after a random number of pushes, while pushes are with FCM.
			for range 3 {
				if !rig.duringSends(ctx, 1+rng.IntN(150)) {
					return
				}
				if rig.cut(ctx) > 0 {
					cutsThisCall++
				}
			}
		})
		c := rig.post(t)
		stop()
		wg.Wait()
		if endOutage != nil {
			endOutage()
		}
		calls = append(calls, c)
		cuts += cutsThisCall
		ids := accepted(t, rig.fcm.Requests()[c.first:c.end])
		missing := rig.notSent(t, ids)

		switch {
		case endOutage != nil:
			outageSeen = true
			if c.status != http.StatusServiceUnavailable || c.retryAfter == "" || !strings.Contains(c.body, "unavailable") {
				t.Errorf("call %d met an outage while recording: answered %d (Retry-After %q) %s, want 503 with Retry-After",
					i+1, c.status, c.retryAfter, c.body)
			}
			if len(missing) == 0 {
				t.Errorf("call %d answered %d for an outage, but every push it sent is recorded: the outage missed the record", i+1, c.status)
			}
			for _, id := range missing {
				unrecorded[id] = true
			}
			t.Logf("call %d: outage; %d pushes accepted, %d of them unrecorded; answered %d", i+1, len(ids), len(missing), c.status)
		case c.status != http.StatusOK:
			t.Fatalf("call %d (%d cuts) answered %d %s, want 200: the results were recorded on a fresh connection or there was nothing to record",
				i+1, cutsThisCall, c.status, c.body)
		default:
			if len(missing) > 0 {
				t.Errorf("call %d (%d cuts) answered 200 %s, but %d pushes FCM accepted are not recorded as sent (e.g. %d): they go out again when their lease ends",
					i+1, cutsThisCall, c.report.Status, len(missing), missing[0])
			}
			if d := c.report.Delivery; d == nil || d.Status == engine.Failed {
				t.Errorf("call %d (%d cuts): delivery %+v, want it not failed", i+1, cutsThisCall, d)
			}
			t.Logf("call %d: %d cuts, %d pushes accepted, answered 200 %s", i+1, cutsThisCall, len(ids), c.report.Status)
			d := c.report.Delivery
			drained = d != nil && d.Status == engine.Completed && d.PendingLeft == 0 && outageSeen
			if !outageSeen && d != nil && d.Status == engine.Completed && d.PendingLeft == 0 && d.PendingWaiting == 0 {
				t.Fatalf("the outbox was drained in %d calls, before the outage came: the population is too small", i+1)
			}
		}
		if drained {
			// The outage's batch is claimable again only when its lease ends: until then, not drained.
			if err := rig.admin.QueryRow(context.Background(), `select count(*) from public.notifications
				where status = 'pending' and lease_until is not null`).Scan(&leasedAfter); err != nil {
				t.Fatal(err)
			}
			drained = leasedAfter == 0
		}
		if !drained && c.status == http.StatusOK && c.report.Delivery != nil && c.report.Delivery.Status == engine.Completed {
			time.Sleep(500 * time.Millisecond) // leased rows wait for their lease to end
		}
	}

	// Over every call: no push FCM accepted went out twice, except the outage's unrecorded batch.
	times := map[int64]int{}
	for _, id := range accepted(t, rig.fcm.Requests()) {
		times[id]++
	}
	var twice, allowed int
	for id, n := range times {
		switch {
		case n > 1 && unrecorded[id]:
			allowed++
		case n > 1:
			twice++
			if twice <= 5 {
				t.Errorf("notification %d was accepted by FCM %d times", id, n)
			}
		}
	}
	if twice > 0 {
		t.Errorf("%d pushes FCM had accepted were sent again", twice)
	}
	retried := rig.logs.FilterMessage("push results recorded on a fresh connection").Len() +
		rig.logs.FilterMessageSnippet("recorded already by an earlier try").Len()
	t.Logf("%d calls, %d cuts, results recorded on a retry %d times; %d pushes accepted once, %d of the outage's unrecorded pushes sent again",
		len(calls), cuts, retried, len(times)-allowed, allowed)
	if cuts == 0 || retried == 0 {
		t.Errorf("%d cuts and %d records on a retry: the cuts did not meet a record, the test did not test anything", cuts, retried)
	}
	if !outageSeen {
		t.Error("the outage never started: no call sent pushes when it was due")
	}
	if len(times) < 500 {
		t.Errorf("only %d pushes accepted: the population is wrong", len(times))
	}
}
