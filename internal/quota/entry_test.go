package quota

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
)

var now = time.Date(2026, 9, 13, 12, 0, 0, 0, time.UTC)

// waitTimeout only guards against a hung test; no test waits for it to pass.
const waitTimeout = 10 * time.Second

// fakeLedger is an in-package ledger that records reservations and can report each call.
type fakeLedger struct {
	mu         sync.Mutex
	total      map[Key]int64
	wants      []int64
	calls      chan int64 // receives want of every ReserveQuota, if set
	releaseErr error
	released   chan int64 // receives n of every ReleaseQuota, if set
}

func newFakeLedger() *fakeLedger { return &fakeLedger{total: map[Key]int64{}} }

func (f *fakeLedger) ReserveQuota(_ context.Context, k Key, want, limit int64) (int64, int64, error) {
	f.mu.Lock()
	cur := f.total[k]
	g := max(min(want, limit-cur), 0)
	f.total[k] = cur + g
	f.wants = append(f.wants, want)
	f.mu.Unlock()
	if f.calls != nil {
		f.calls <- want
	}
	return g, cur + g, nil
}

func (f *fakeLedger) ReleaseQuota(_ context.Context, k Key, n int64) error {
	if f.released != nil {
		f.released <- n
	}
	if f.releaseErr != nil {
		return f.releaseErr
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.total[k] = max(f.total[k]-n, 0)
	return nil
}

func TestLeaseSize(t *testing.T) {
	c := &Counter{opt: Options{}}
	c.opt.defaults()
	for _, tc := range []struct {
		allowance, lastTotal, want int64
	}{
		{1_000_000, -1, 1000}, // capped by MaxLease
		{1000, -1, 62},        // a sixteenth of what remains
		{1000, 500, 31},
		{100, 90, 1}, // near the limit: one at a time
		{100, 100, 1},
		{100, 150, 1}, // over-reserved (limit lowered): still ask, the ledger says no
		{17, 0, 1},
	} {
		if got := c.leaseSize(tc.allowance, tc.lastTotal); got != tc.want {
			t.Errorf("leaseSize(%d, %d) = %d, want %d", tc.allowance, tc.lastTotal, got, tc.want)
		}
	}
}

// Draining a key one request at a time: leases shrink monotonically to 1 and the ledger grants
// exactly the allowance.
func TestLeasesShrinkNearTheLimit(t *testing.T) {
	l := newFakeLedger()
	c := New(l, Options{})
	defer c.Close(context.Background())
	e := c.Entry("r", "p", "k")
	p := &Policy{Quota: apigw.Quota{Limit: 10000, Period: apigw.PeriodMonth}}
	if admitted := drain(t, e, p, now); admitted != 10000 {
		t.Fatalf("admitted %d, want 10000", admitted)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.wants[0] != 625 || l.wants[len(l.wants)-1] != 1 {
		t.Errorf("lease sizes %v: want 625 first and 1 last", l.wants)
	}
	for i := 1; i < len(l.wants); i++ {
		if l.wants[i] > l.wants[i-1] {
			t.Fatalf("lease sizes grew: %v", l.wants)
		}
	}
}

// The request that brings the lease to a quarter of the grant queues a background refill; the
// ledger is called without any request waiting for it.
func TestRefillAheadAtLowWatermark(t *testing.T) {
	l := newFakeLedger()
	l.calls = make(chan int64, 10)
	c := New(l, Options{})
	defer c.Close(context.Background())
	e := c.Entry("r", "p", "k")
	p := &Policy{Quota: apigw.Quota{Limit: 1_000_000, Period: apigw.PeriodMonth}}
	take := func(n int) {
		for range n {
			if ok, err := e.Take(context.Background(), p, now); !ok || err != nil {
				t.Fatalf("Take = %v, %v", ok, err)
			}
		}
	}
	take(1)
	if w := <-l.calls; w != 1000 {
		t.Fatalf("first lease asked %d, want 1000", w)
	}
	take(748) // 251 left: above the watermark of 250
	select {
	case w := <-l.calls:
		t.Fatalf("ledger called (want %d) before the watermark", w)
	default:
	}
	take(1) // 250 left
	select {
	case w := <-l.calls:
		if w != 1000 {
			t.Fatalf("refill ahead asked %d, want 1000", w)
		}
	case <-time.After(waitTimeout):
		t.Fatal("no refill ahead after reaching the low watermark")
	}
}

// A past period's lease is released in the background; its failure reaches OnError.
func TestRolloverReleasesInBackground(t *testing.T) {
	l := newFakeLedger()
	l.releaseErr = errors.New("down")
	l.released = make(chan int64, 1)
	errs := make(chan error, 1)
	c := New(l, Options{OnError: func(err error) { errs <- err }})
	defer c.Close(context.Background())
	e := c.Entry("r", "p", "k")
	p := &Policy{Quota: apigw.Quota{Limit: 1600, Period: apigw.PeriodDay}}
	e.Take(context.Background(), p, now) // lease of 100, 99 unused
	if ok, err := e.Take(context.Background(), p, now.AddDate(0, 0, 1)); !ok || err != nil {
		t.Fatalf("Take on the next day = %v, %v", ok, err)
	}
	select {
	case n := <-l.released:
		if n != 99 {
			t.Errorf("released %d, want the 99 unused", n)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the past period's lease was not released")
	}
	select {
	case err := <-errs:
		if !errors.Is(err, l.releaseErr) {
			t.Errorf("OnError got %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("release failure not reported")
	}
}

func TestTakeLeaseHitDoesNotAllocate(t *testing.T) {
	c := New(newFakeLedger(), Options{MaxLease: 1 << 40, Divisor: 1})
	defer c.Close(context.Background())
	e := c.Entry("r", "p", "k")
	p := &Policy{Quota: apigw.Quota{Limit: 1 << 50, Period: apigw.PeriodMonth}}
	ctx := context.Background()
	e.Take(ctx, p, now)
	if n := testing.AllocsPerRun(1000, func() { e.Take(ctx, p, now) }); n != 0 {
		t.Fatalf("Take allocates %v times per call on a lease hit", n)
	}
}

func BenchmarkTakeLeaseHit(b *testing.B) {
	c := New(newFakeLedger(), Options{MaxLease: 1 << 40, Divisor: 1})
	defer c.Close(context.Background())
	e := c.Entry("r", "p", "k")
	p := &Policy{Quota: apigw.Quota{Limit: 1 << 50, Period: apigw.PeriodMonth}}
	ctx := context.Background()
	e.Take(ctx, p, now)
	b.ReportAllocs()
	for b.Loop() {
		e.Take(ctx, p, now)
	}
}

func BenchmarkTakeLeaseHitParallel(b *testing.B) {
	c := New(newFakeLedger(), Options{MaxLease: 1 << 40, Divisor: 1})
	defer c.Close(context.Background())
	e := c.Entry("r", "p", "k")
	p := &Policy{Quota: apigw.Quota{Limit: 1 << 50, Period: apigw.PeriodMonth}}
	ctx := context.Background()
	e.Take(ctx, p, now)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e.Take(ctx, p, now)
		}
	})
}

// A spent key is rejected without the ledger until Recheck has passed, then asked again; with
// Recheck negative (a node alone on its ledger) it is asked again only under a new policy.
func TestRecheckOfSpentKeys(t *testing.T) {
	for _, tc := range []struct {
		name    string
		recheck time.Duration
		// ledger calls after the key is spent: an hour later, then under a new policy
		later, newPolicy int
	}{
		{"every second", 0, 1, 1},
		{"never", -1, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newFakeLedger()
			c := New(l, Options{Recheck: tc.recheck, Ahead: -1})
			defer c.Close(context.Background())
			e := c.Entry("r", "p", "k")
			p := &Policy{Quota: apigw.Quota{Limit: 2, Period: apigw.PeriodMonth}}
			calls := func() int { l.mu.Lock(); defer l.mu.Unlock(); return len(l.wants) }
			take := func(p *Policy, at time.Time) bool {
				ok, err := e.Take(context.Background(), p, at)
				if err != nil {
					t.Fatal(err)
				}
				return ok
			}
			for i, want := range []bool{true, true, false, false} {
				if got := take(p, now); got != want {
					t.Fatalf("take %d: %v, want %v", i, got, want)
				}
			}
			spent := calls()
			if take(p, now.Add(time.Hour)) {
				t.Fatal("a spent key was admitted an hour later")
			}
			if got := calls() - spent; got != tc.later {
				t.Errorf("an hour later: %d ledger calls, want %d", got, tc.later)
			}
			spent = calls()
			if take(&Policy{Quota: p.Quota}, now.Add(time.Hour)) {
				t.Fatal("a spent key was admitted under the same allowance")
			}
			if got := calls() - spent; got != tc.newPolicy {
				t.Errorf("new policy: %d ledger calls, want %d", got, tc.newPolicy)
			}
		})
	}
}

// TestEntriesSharePeriodState: the keys of one policy hold one state for a period (no state a
// key), a new period or an override makes another, and each key still counts on its own.
func TestEntriesSharePeriodState(t *testing.T) {
	l := newFakeLedger()
	c := New(l, Options{})
	defer c.Close(context.Background())
	p := &Policy{Quota: apigw.Quota{Limit: 3, Period: apigw.PeriodDay}}
	a, b := c.Entry("r", "p", "a"), c.Entry("r", "p", "b")
	if na, nb := drain(t, a, p, now), drain(t, b, p, now); na != 3 || nb != 3 {
		t.Fatalf("admitted %d and %d, want 3 each", na, nb)
	}
	if a.state.Load() != b.state.Load() {
		t.Error("two keys of one policy in one period hold different states")
	}
	if a.plan != b.plan {
		t.Error("two keys of one plan hold different copies of its ids")
	}
	today := a.state.Load()
	drain(t, a, p, now.AddDate(0, 0, 1))
	if s := a.state.Load(); s == today || s.start != PeriodStart(apigw.PeriodDay, now.AddDate(0, 0, 1)).UnixNano() {
		t.Errorf("the next day's state is %+v", s)
	}
	o := p.WithOverride(PeriodStart(apigw.PeriodDay, now), 5)
	if n := drain(t, b, o, now); n != 2 {
		t.Errorf("admitted %d after an override to 5, want 2", n)
	}
	if b.state.Load().allowance != 5 || p.state(PeriodStart(apigw.PeriodDay, now)).allowance != 3 {
		t.Error("the override's state is shared with the policy it was made from")
	}
}

// drain takes from e one request at a time until it refuses, and returns how many it admitted.
func drain(t *testing.T, e *Entry, p *Policy, at time.Time) int {
	t.Helper()
	n := 0
	for {
		ok, err := e.Take(context.Background(), p, at)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return n
		}
		n++
	}
}
