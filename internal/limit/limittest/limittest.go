// Package limittest is the conformance suite of limit.Limiter: what the data plane relies on from
// any throttle implementation (in-process or shared), stated once so they cannot drift apart.
// Every case drives an injected clock; nothing sleeps.
package limittest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/limit"
)

// NewLimiter returns a fresh, empty limiter; it arranges its own cleanup.
type NewLimiter func(t *testing.T) limit.Limiter

// t0 is the suite's origin; scripts give times as offsets from it.
var t0 = time.Date(2026, 9, 13, 12, 0, 0, 0, time.UTC)

// skip marks a Remaining or RetryAfter a step does not check.
const skip = -1

// step makes calls requests at t0+at against one bucket with the given limits and expects
// admitted of them to pass; the last call's Decision must report remaining and retry.
type step struct {
	at        time.Duration
	rate      float64
	burst     int64
	calls     int
	admitted  int
	remaining int64
	retry     time.Duration
}

// Run runs the suite, each case on a new limiter.
func Run(t *testing.T, newLimiter NewLimiter) {
	scripts := []struct {
		name  string
		steps []step
	}{
		{"burst then refill", []step{
			{0, 10, 5, 1, 1, 4, 0},
			{0, 10, 5, 4, 4, 0, 100 * time.Millisecond},
			{0, 10, 5, 1, 0, 0, 100 * time.Millisecond},
			{100*time.Millisecond - 1, 10, 5, 1, 0, 0, 1},
			{100 * time.Millisecond, 10, 5, 2, 1, 0, 100 * time.Millisecond},
			{600 * time.Millisecond, 10, 5, 1, 1, 4, 0}, // full again 0.5 s after the last take
			{time.Hour, 10, 5, 6, 5, 0, 100 * time.Millisecond},
		}},
		{"fractional rate", []step{
			{0, 0.1, 1, 2, 1, 0, 10 * time.Second},
			{10*time.Second - 1, 0.1, 1, 1, 0, 0, 1},
			{10 * time.Second, 0.1, 1, 2, 1, 0, 10 * time.Second},
			{25 * time.Second, 0.1, 1, 2, 1, 0, 10 * time.Second},
			{30 * time.Second, 0.1, 1, 1, 0, 0, 5 * time.Second},
		}},
		{"rate 0 admits the burst then nothing", []step{
			{0, 0, 3, 5, 3, 0, limit.Forever},
			{1000 * time.Hour, 0, 3, 1, 0, 0, limit.Forever},
		}},
		{"0/0 admits nothing", []step{
			{0, 0, 0, 1, 0, 0, limit.Forever},
			{time.Hour, 0, 0, 1, 0, 0, limit.Forever},
		}},
		{"burst 0 admits nothing", []step{
			{0, 100, 0, 3, 0, 0, limit.Forever},
			{time.Hour, 100, 0, 1, 0, 0, limit.Forever},
		}},
		{"rate change keeps the tokens", []step{
			{0, 1, 10, 7, 7, 3, 0},
			{0, 2, 10, 4, 3, 0, 500 * time.Millisecond},
			{500 * time.Millisecond, 2, 10, 2, 1, 0, 500 * time.Millisecond},
		}},
		{"lower burst caps the tokens", []step{
			{0, 1, 10, 2, 2, 8, 0},
			{0, 1, 4, 5, 4, 0, time.Second},
		}},
		{"higher burst grants no instant burst", []step{
			{0, 1, 2, 2, 2, 0, time.Second},
			{0, 1, 10, 1, 0, 0, time.Second},
			{time.Second, 1, 10, 2, 1, 0, time.Second},
			{11 * time.Second, 1, 10, 11, 10, 0, time.Second},
		}},
		{"0/0 lifted refills from empty", []step{
			{0, 0, 0, 1, 0, 0, limit.Forever},
			{time.Hour, 10, 5, 1, 0, 0, 100 * time.Millisecond},
			{time.Hour + 100*time.Millisecond, 10, 5, 2, 1, 0, 100 * time.Millisecond},
		}},
		{"rate set to 0 freezes", []step{
			{0, 10, 5, 3, 3, 2, 0},
			{0, 0, 5, 1, 1, 1, 0},
			{time.Hour, 0, 5, 3, 1, 0, limit.Forever},
		}},
		{"rate raised from 0 refills from the change", []step{
			{0, 0, 3, 3, 3, 0, limit.Forever},
			{10 * time.Second, 1, 3, 1, 0, 0, time.Second},
			{11 * time.Second, 1, 3, 1, 1, 0, time.Second},
		}},
	}
	for _, sc := range scripts {
		t.Run(sc.name, func(t *testing.T) {
			l := newLimiter(t)
			id := limit.BucketID{Region: "us-east-1", PlanID: "p1", KeyID: "k1"}
			for i, s := range sc.steps {
				runStep(t, l, id, i, s)
			}
		})
	}
	t.Run("exact rate over time", func(t *testing.T) { exactRate(t, newLimiter(t)) })
	t.Run("buckets are independent", func(t *testing.T) { independent(t, newLimiter(t)) })
	t.Run("concurrent callers get exactly the burst", func(t *testing.T) { concurrent(t, newLimiter(t)) })
	t.Run("limit changes under load keep state", func(t *testing.T) { flipping(t, newLimiter(t)) })
}

func runStep(t *testing.T, l limit.Limiter, id limit.BucketID, i int, s step) {
	t.Helper()
	got := 0
	var d limit.Decision
	for range s.calls {
		d = l.Allow(id, s.rate, s.burst, t0.Add(s.at))
		if d.Allowed {
			got++
		}
	}
	if got != s.admitted {
		t.Errorf("step %d (%v, rate %v, burst %d): %d of %d admitted, want %d", i, s.at, s.rate, s.burst, got, s.calls, s.admitted)
	}
	if s.remaining != skip && d.Remaining != s.remaining {
		t.Errorf("step %d: Remaining %d, want %d", i, d.Remaining, s.remaining)
	}
	if s.retry != skip && d.RetryAfter != s.retry {
		t.Errorf("step %d: RetryAfter %v, want %v", i, d.RetryAfter, s.retry)
	}
}

// exactRate drains a 10/s bucket and polls it every millisecond for 10 s: exactly 100 pass,
// each exactly 100 ms after the previous one.
func exactRate(t *testing.T, l limit.Limiter) {
	id := limit.BucketID{Region: "us-east-1", ApiID: "a1", Stage: "prod", Method: "/pets/GET"}
	for range 5 {
		l.Allow(id, 10, 5, t0)
	}
	var times []time.Duration
	for at := time.Millisecond; at <= 10*time.Second; at += time.Millisecond {
		if l.Allow(id, 10, 5, t0.Add(at)).Allowed {
			times = append(times, at)
		}
	}
	if len(times) != 100 {
		t.Fatalf("%d admitted over 10 s at 10/s, want 100", len(times))
	}
	for i, at := range times {
		if want := time.Duration(i+1) * 100 * time.Millisecond; at != want {
			t.Fatalf("admission %d at %v, want %v", i, at, want)
		}
	}
}

// independent drains one bucket and checks that ids differing in any one field are untouched.
func independent(t *testing.T, l limit.Limiter) {
	base := limit.BucketID{Region: "r", PlanID: "p", KeyID: "k", ApiID: "a", Stage: "s", Method: "m"}
	l.Allow(base, 0, 1, t0)
	if l.Allow(base, 0, 1, t0).Allowed {
		t.Fatal("drained bucket admitted")
	}
	others := []limit.BucketID{base, base, base, base, base, base}
	others[0].Region = "r2"
	others[1].PlanID = "p2"
	others[2].KeyID = "k2"
	others[3].ApiID = "a2"
	others[4].Stage = "s2"
	others[5].Method = "m2"
	for _, id := range others {
		if !l.Allow(id, 0, 1, t0).Allowed {
			t.Errorf("bucket %+v shares state with %+v", id, base)
		}
	}
}

// concurrent has 64 goroutines hammer one bucket at a single instant: exactly burst pass.
func concurrent(t *testing.T, l limit.Limiter) {
	const goroutines, tries, burst = 64, 20, 500
	id := limit.BucketID{Region: "us-east-1"}
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range tries {
				if l.Allow(id, 1, burst, t0).Allowed {
					admitted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := admitted.Load(); got != burst {
		t.Fatalf("%d admitted by %d concurrent callers, want exactly %d", got, goroutines, burst)
	}
}

// flipping has callers disagree about the burst (as two snapshots would during a swap) on a
// bucket that never refills: the tokens it holds never grow, so exactly the first burst passes.
func flipping(t *testing.T, l limit.Limiter) {
	const goroutines, tries = 32, 10
	id := limit.BucketID{Region: "us-east-1", PlanID: "p", KeyID: "k"}
	if !l.Allow(id, 0, 50, t0).Allowed {
		t.Fatal("first request rejected")
	}
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			burst := int64(50 + 10*(g%2))
			for range tries {
				if l.Allow(id, 0, burst, t0).Allowed {
					admitted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := admitted.Load(); got != 49 {
		t.Fatalf("%d admitted while the burst flipped between 50 and 60, want the 49 left", got)
	}
}
