package postgres

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

// noPoll is a poll interval long enough that only LISTEN/NOTIFY (or a reconnect's catch-up) can
// deliver a change during a test.
const noPoll = time.Hour

// propagationDeadline bounds a wait for a change from another store; the measured delays are
// milliseconds, the deadline only keeps a broken build from hanging.
const propagationDeadline = 10 * time.Second

// subscribe returns b's wake channel, ended at test cleanup.
func subscribe(t testing.TB, s *Store) <-chan struct{} {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	_, wake, err := s.Changes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return wake
}

func seqOf(t testing.TB, s *Store) int64 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seq, _, err := s.Changes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// putKey writes one key on s and returns when the commit is durable.
func putKey(t testing.TB, s *Store, id string) {
	t.Helper()
	err := s.Update(context.Background(), "us-east-1", func(tx store.Tx) error {
		return tx.PutApiKey(&apigw.ApiKey{ID: id, Value: "value-" + id})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// wakeTimes relays wake-ups of s with the instant each arrived, so a wake that lands while the
// writer is still waiting for its own COMMIT acknowledgement is timed correctly.
func wakeTimes(t testing.TB, s *Store) <-chan time.Time {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	_, wake, err := s.Changes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan time.Time, 1)
	go func() {
		for range wake {
			select {
			case out <- time.Now():
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// propagation is the timing of one write on A seen by B.
type propagation struct {
	write time.Duration // A's Update call, BEGIN to COMMIT acknowledged
	wake  time.Duration // A's Update called -> B woken
}

// propagate writes key id on a and times it until b's wake-up arrives on woke.
func propagate(t testing.TB, a, b *Store, woke <-chan time.Time, id string) propagation {
	t.Helper()
	start := time.Now()
	putKey(t, a, id)
	written := time.Since(start)
	var p propagation
	select {
	case at := <-woke:
		p = propagation{write: written, wake: at.Sub(start)}
	case <-time.After(propagationDeadline):
		t.Fatalf("write %s: B not woken within %v", id, propagationDeadline)
	}
	if got, want := seqOf(t, b), seqOf(t, a); got != want {
		t.Fatalf("after write %s: B's sequence %d, A's %d", id, got, want)
	}
	return p
}

// quantiles returns the p50, p90 and max of ds.
func quantiles(ds []time.Duration) (p50, p90, top time.Duration) {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2], ds[len(ds)*9/10], ds[len(ds)-1]
}

// TestPropagation measures what the data plane of node B waits for a write on node A (separate
// pools, B's poll off so only NOTIFY can deliver): from A's Update call to B's wake-up.
func TestPropagation(t *testing.T) {
	dsn := freshSchema(t)
	a := openDSN(t, dsn, Options{PollInterval: noPoll})
	b := openDSN(t, dsn, Options{PollInterval: noPoll})
	woke := wakeTimes(t, b)
	const writes = 50
	var writesD, wakes, afterAck []time.Duration
	for i := range writes {
		p := propagate(t, a, b, woke, fmt.Sprint("k", i))
		writesD, wakes, afterAck = append(writesD, p.write), append(wakes, p.wake), append(afterAck, p.wake-p.write)
	}
	w50, w90, wmax := quantiles(writesD)
	p50, p90, pmax := quantiles(wakes)
	a50, a90, amax := quantiles(afterAck)
	t.Logf("%d writes on A: Update (BEGIN..COMMIT ack) p50 %v p90 %v max %v", writes, w50, w90, wmax)
	t.Logf("Update called on A -> B woken: p50 %v p90 %v max %v", p50, p90, pmax)
	t.Logf("COMMIT ack on A -> B woken (negative: B first): p50 %v p90 %v max %v", a50, a90, amax)
}

// With LISTEN unavailable, the poll alone still delivers a change within the poll interval: a
// change row written without a notification stands for a notification lost.
func TestPollSafetyNet(t *testing.T) {
	s := openDSN(t, freshSchema(t), Options{PollInterval: 50 * time.Millisecond})
	wake := subscribe(t, s)
	before := seqOf(t, s)
	sqlOn(t, s, "INSERT INTO changes (region, kind, id) VALUES ('us-east-1', 'apikey', 'k')")
	d := waitWake(t, "poll after a silent change", wake, propagationDeadline)
	if after := seqOf(t, s); after <= before {
		t.Fatalf("sequence %d after the poll, want > %d", after, before)
	}
	t.Logf("woken by the poll after %v (interval 50ms)", d)
}

// A listener whose connection is killed reconnects, catches up with what it missed and keeps
// receiving notifications; the poll is off, so only the listener can deliver.
func TestListenerReconnects(t *testing.T) {
	dsn := freshSchema(t)
	a := openDSN(t, dsn, Options{PollInterval: noPoll})
	b := openDSN(t, dsn, Options{PollInterval: noPoll, ListenBackoffMax: 100 * time.Millisecond})
	wake := subscribe(t, b)
	pid := b.listenPID.Load()
	// Kill B's listening session, then write while B may still be reconnecting.
	sqlOn(t, a, "SELECT pg_terminate_backend($1)", pid)
	putKey(t, a, "missed")
	waitWake(t, "B after its listener was killed", wake, propagationDeadline)
	if got, want := seqOf(t, b), seqOf(t, a); got != want {
		t.Fatalf("B's sequence %d after reconnecting, A's %d", got, want)
	}
	if b.listenPID.Load() == pid {
		t.Fatalf("B still listens on the terminated session %d", pid)
	}
	putKey(t, a, "after")
	waitWake(t, "B on the reconnected listener", wake, propagationDeadline)
	if got, want := seqOf(t, b), seqOf(t, a); got != want {
		t.Fatalf("B's sequence %d, A's %d", got, want)
	}
}

// A quiet listener pings its connection every ListenCheck and keeps it: the wait's timeout
// must not cost the session (and the notifications queued for it).
func TestQuietListenerKeepsItsConnection(t *testing.T) {
	dsn := freshSchema(t)
	a := openDSN(t, dsn, Options{PollInterval: noPoll})
	b := openDSN(t, dsn, Options{PollInterval: noPoll, ListenCheck: 5 * time.Millisecond})
	wake := subscribe(t, b)
	pid := b.listenPID.Load()
	deadline := time.Now().Add(propagationDeadline)
	for b.listenChecks.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d liveness checks within %v, want 3", b.listenChecks.Load(), propagationDeadline)
		}
		time.Sleep(time.Millisecond)
	}
	if got := b.listenPID.Load(); got != pid {
		t.Fatalf("listener reconnected (session %d -> %d) while only idle", pid, got)
	}
	putKey(t, a, "k")
	waitWake(t, "B after quiet checks", wake, propagationDeadline)
}

// Notifications of another schema in the same database (another cluster, another test) neither
// wake a store nor move its sequence.
func TestNotificationsScopedToSchema(t *testing.T) {
	dsn := freshSchema(t)
	mine := openDSN(t, dsn, Options{PollInterval: noPoll})
	other := openDSN(t, freshSchema(t), Options{PollInterval: noPoll})
	wake := subscribe(t, mine)
	for i := range 5 {
		putKey(t, other, fmt.Sprintf("o%d", i))
	}
	writer := openDSN(t, dsn, Options{PollInterval: noPoll})
	putKey(t, writer, "m")
	// Notifications reach a listener in commit order: once woken by ours, the other schema's
	// five have been delivered too.
	waitWake(t, "own schema's change", wake, propagationDeadline)
	if got, want := seqOf(t, mine), seqOf(t, writer); got != want {
		t.Fatalf("sequence %d, want %d (the other schema is at %d)", got, want, seqOf(t, other))
	}
	select {
	case <-wake:
		t.Fatal("woken again: another schema's notification was taken for ours")
	default:
	}
}

func TestParsePayload(t *testing.T) {
	s := &Store{schema: "tg:a"}
	for _, tc := range []struct {
		payload string
		seq     int64
		ok      bool
	}{
		{"tg:a:42", 42, true},
		{"tg:a:0", 0, true},
		{"public:42", 0, false},
		{"tg:ab:42", 0, false},
		{"tg:a:x", 0, false},
		{"42", 0, false},
		{"", 0, false},
	} {
		seq, ok := s.parsePayload(tc.payload)
		if seq != tc.seq || ok != tc.ok {
			t.Errorf("parsePayload(%q) = %d, %v; want %d, %v", tc.payload, seq, ok, tc.seq, tc.ok)
		}
	}
}

// BenchmarkPropagation: one op is a committed write on store A and the wake-up of store B
// (separate pools, NOTIFY only), timed from A's Update call to B's wake-up.
func BenchmarkPropagation(b *testing.B) {
	dsn := freshSchema(b)
	sa := openDSN(b, dsn, Options{PollInterval: noPoll})
	sb := openDSN(b, dsn, Options{PollInterval: noPoll})
	woke := wakeTimes(b, sb)
	var wakes []time.Duration
	for i := 0; b.Loop(); i++ {
		wakes = append(wakes, propagate(b, sa, sb, woke, fmt.Sprint("k", i)).wake)
	}
	p50, p90, top := quantiles(wakes)
	b.ReportMetric(float64(p50.Microseconds()), "µs-p50-wake")
	b.ReportMetric(float64(p90.Microseconds()), "µs-p90-wake")
	b.ReportMetric(float64(top.Microseconds()), "µs-max-wake")
}
