package postgres

import (
	"context"
	"testing"
	"time"
)

// Membership across two stores (two nodes). Time passing is simulated by moving heartbeats back
// in the table, never by sleeping.
func TestMembership(t *testing.T) {
	dsn := freshSchema(t)
	a, b := openDSN(t, dsn, Options{}), openDSN(t, dsn, Options{})
	ctx := context.Background()
	age := func(node, by string) func(*testing.T) {
		return func(t *testing.T) {
			sqlOn(t, a, "UPDATE nodes SET heartbeat_at = heartbeat_at - $2::interval WHERE id = $1", node, by)
		}
	}
	do := func(f func(context.Context, string) error, node string) func(*testing.T) {
		return func(t *testing.T) {
			if err := f(ctx, node); err != nil {
				t.Fatal(err)
			}
		}
	}
	steps := []struct {
		what   string
		act    func(*testing.T)
		within time.Duration
		live   int
	}{
		{"empty", func(*testing.T) {}, 10 * time.Second, 0},
		{"first heartbeat", do(a.Heartbeat, "n1"), 10 * time.Second, 1},
		{"second node, through the other store", do(b.Heartbeat, "n2"), 10 * time.Second, 2},
		{"repeated heartbeat counts once", do(a.Heartbeat, "n1"), 10 * time.Second, 2},
		{"n2 silent for a minute", age("n2", "1 minute"), 10 * time.Second, 1},
		{"a wider window still sees n2", func(*testing.T) {}, 2 * time.Minute, 2},
		{"n2 beats again", do(b.Heartbeat, "n2"), 10 * time.Second, 2},
		{"n1 leaves", do(a.Leave, "n1"), 10 * time.Second, 1},
		{"leaving twice is harmless", do(a.Leave, "n1"), time.Hour, 1},
		{"n3 dead for 8 days", func(t *testing.T) { do(a.Heartbeat, "n3")(t); age("n3", "8 days")(t) }, 30 * 24 * time.Hour, 2},
		{"a heartbeat forgets week-old nodes", do(a.Heartbeat, "n1"), 30 * 24 * time.Hour, 2},
	}
	for i, s := range steps {
		s.act(t)
		n, err := b.LiveNodes(ctx, s.within)
		if err != nil {
			t.Fatalf("step %d (%s): %v", i, s.what, err)
		}
		if n != s.live {
			t.Errorf("step %d (%s): LiveNodes(%v) = %d, want %d", i, s.what, s.within, n, s.live)
		}
	}
}
