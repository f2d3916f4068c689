package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/peermentor/scenario-scheduler/adapters/fcm"
	"github.com/peermentor/scenario-scheduler/adapters/fcm/fcmtest"
	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/engine"
)

// BenchmarkDeliver measures draining an outbox of 2,000 notifications in one delivery-only call, with the
// log sender (the database's share) and through a local FCM server (HTTP, OAuth, JSON; no network latency).
// It reports pushes per second: what one 30-second budget can send is about 30 times that, less evaluation.
func BenchmarkDeliver(b *testing.B) {
	const n = 2000
	for _, tc := range []struct {
		name   string
		sender func(b *testing.B) engine.Sender
	}{
		{"log", func(*testing.B) engine.Sender { return fcm.NewLogSender(nil) }},
		{"fcm", func(b *testing.B) engine.Sender {
			srv := fcmtest.New(b)
			s, err := fcm.New(context.Background(), fcm.Config{CredentialsJSON: srv.CredentialsJSON(), Endpoint: srv.URL})
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			pool := pgtest.NewPool(b)
			ctx := context.Background()
			mustExec := func(sql string, args ...any) {
				if _, err := pool.Exec(ctx, sql, args...); err != nil {
					b.Fatal(err)
				}
			}
			mustExec(`insert into public.organisations (id, name) values (md5('bench')::uuid, 'Bench')`)
			mustExec(`insert into public.peer_mentors (id, organisation_id, full_name)
				select md5('b' || i)::uuid, md5('bench')::uuid, 'Mentor ' || i from generate_series(1, $1::int) i`, n)
			mustExec(`insert into public.device_tokens (user_id, token, platform)
				select md5('b' || i)::uuid, 'tok-' || i, 'android' from generate_series(1, $1::int) i`, n)
			mustExec(`update scheduler.delivery_config set daily_cap = null, quiet_start = '00:00', quiet_end = '00:00'`)
			e := engine.New(postgres.NewFromPool(pool), engine.Options{Sender: tc.sender(b), Budget: time.Minute})
			sent := 0
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				mustExec(`delete from public.notifications`)
				mustExec(`insert into public.notifications (user_id, organisation_id, scenario, evaluation_date,
					idempotency_key, priority, data)
					select md5('b' || g)::uuid, md5('bench')::uuid, 'milestone', current_date - 1, 'bench:' || $1::int || ':' || g,
					       20, '{"level": 10, "activity_count": 10}'
					from generate_series(1, $2::int) g`, i, n)
				b.StartTimer()
				rep, err := e.Run(ctx, engine.Request{DeliverOnly: true})
				if err != nil {
					b.Fatal(err)
				}
				sent += rep.Delivery.Sent
			}
			if sent != n*b.N {
				b.Fatalf("sent %d of %d", sent, n*b.N)
			}
			b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "pushes/s")
		})
	}
}
