package split

import (
	"math"
	mrand "math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/limit"
	"github.com/tollgate/tollgate/internal/limit/limittest"
)

var t0 = time.Date(2026, 9, 13, 12, 0, 0, 0, time.UTC)

func TestConformanceOneNode(t *testing.T) {
	for _, n := range []int{1, 0, -3} { // below 1 counts as 1
		limittest.Run(t, func(*testing.T) limit.Limiter { return New(Options{Nodes: func() int { return n }}) })
	}
}

// bucketT is the emission interval limit.Bucket derives from rate (it is not exported): the
// time between two admissions of a drained bucket.
func bucketT(t *testing.T, rate float64) time.Duration {
	t.Helper()
	b := limit.NewBucket(rate, 1, 0)
	d := b.Decide(0)
	if !d.Allowed {
		t.Fatalf("rate %v: a full bucket rejected", rate)
	}
	return d.Reset
}

func TestShare(t *testing.T) {
	for _, tc := range []struct {
		rate       float64
		burst      int64
		n          int
		atLeastOne bool
		wantT      time.Duration // -1: the share never refills
		wantBurst  int64
	}{
		{10, 5, 1, false, 100 * time.Millisecond, 5},
		{10, 5, 2, false, 200 * time.Millisecond, 2},
		{10, 6, 3, false, 300 * time.Millisecond, 2},
		{3, 10, 3, false, 3 * 333333333, 3}, // 3 × the single bucket's rounded interval
		{1.0 / 3, 7, 2, false, 2 * 3 * time.Second, 3},
		{0.1, 100, 4, false, 40 * time.Second, 25},
		{2e9, 8, 4, false, 4, 2}, // a single bucket counts one token per ns
		{0, 3, 3, false, -1, 1},
		{-1, 4, 2, false, -1, 2},
		{10, 2, 3, false, 300 * time.Millisecond, 0}, // burst < N: nothing, strictly
		{10, 2, 3, true, 300 * time.Millisecond, 1},  // unless AtLeastOne
		{10, 0, 3, true, 300 * time.Millisecond, 0},  // a burst of 0 stays 0
		{10, -1, 3, true, 300 * time.Millisecond, -1},
		{1e-9, 5, 3, false, -1, 1}, // one token per ~32 years, × 3: beyond the horizon
	} {
		r, b := Share(tc.rate, tc.burst, tc.n, tc.atLeastOne)
		if b != tc.wantBurst {
			t.Errorf("Share(%v, %d, %d, %v): burst %d, want %d", tc.rate, tc.burst, tc.n, tc.atLeastOne, b, tc.wantBurst)
		}
		if tc.wantT < 0 {
			if r > 0 {
				t.Errorf("Share(%v, %d, %d): rate %v, want a share that never refills", tc.rate, tc.burst, tc.n, r)
			}
			continue
		}
		if got := bucketT(t, r); got != tc.wantT {
			t.Errorf("Share(%v, %d, %d): interval %v, want %v", tc.rate, tc.burst, tc.n, got, tc.wantT)
		}
	}
}

// The shares' intervals are exact multiples of the single bucket's, over many rates: the n
// shares never add up to more than the configured rate as limit.Bucket counts it.

func TestShareIntervalIsExactMultiple(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	for range 2000 {
		rate := math.Exp(rng.Float64()*40 - 15) // ~3e-7 … 7e10 per second
		n := 2 + rng.IntN(63)
		r, _ := Share(rate, 1, n, false)
		single := bucketT(t, rate)
		if r <= 0 {
			if single*time.Duration(n) < time.Duration(maxShareT)/2 {
				t.Fatalf("rate %v, n %d: frozen share for interval %v", rate, n, single)
			}
			continue
		}
		// Exact below 2^51 ns (26 days); beyond, never shorter and longer by < 1 part in 2^50.
		got, want := bucketT(t, r), single*time.Duration(n)
		if got < want || got > want+want>>50 || (want < 1<<51 && got != want) {
			t.Fatalf("rate %v, n %d: share interval %v, want %d × %v", rate, n, got, n, single)
		}
	}
}

// saturate drives every limiter with `per` requests at each instant of a schedule and returns
// how many each admitted.
func saturate(ls []limit.Limiter, rate float64, burst int64, per int, at []time.Time) []int {
	got := make([]int, len(ls))
	id := limit.BucketID{Region: "r", KeyID: "k"}
	for _, now := range at {
		for i, l := range ls {
			for range per {
				if l.Allow(id, rate, burst, now).Allowed {
					got[i]++
				}
			}
		}
	}
	return got
}

func nodes(n int, atLeastOne bool) []limit.Limiter {
	ls := make([]limit.Limiter, n)
	for i := range ls {
		ls[i] = New(Options{Nodes: func() int { return n }, AtLeastOne: atLeastOne})
	}
	return ls
}

// TestClusterNeverExceedsOneBucket saturates N nodes and one limit.Bucket with the same limits
// on random schedules: together the nodes never admit more than the single bucket.
func TestClusterNeverExceedsOneBucket(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(3, 4))
	rates := []float64{10, 3, 1.0 / 3, 7.5, 100, 0}
	for i := range 200 {
		rate, burst, n := rates[rng.IntN(len(rates))], int64(rng.IntN(40)), 2+rng.IntN(6)
		at, now := make([]time.Time, 100), t0
		for j := range at {
			now = now.Add(time.Duration(rng.Int64N(int64(300 * time.Millisecond))))
			at[j] = now
		}
		cluster := saturate(nodes(n, false), rate, burst, 5, at)
		single := saturate([]limit.Limiter{limit.NewLocal()}, rate, burst, 5*n, at)[0]
		total := 0
		for _, c := range cluster {
			total += c
		}
		if total > single {
			t.Fatalf("case %d (rate %v, burst %d, %d nodes): cluster admitted %d, one bucket %d", i, rate, burst, n, total, single)
		}
	}
}

// TestEvenSpread: requests spread round robin over the nodes (one per millisecond) are admitted
// almost as one bucket would admit them: the B mod N tokens of burst lost to rounding, and less
// than one token per node because each node's refill schedule is offset from the window's end.
func TestEvenSpread(t *testing.T) {
	for _, tc := range []struct {
		rate  float64
		burst int64
		n     int
	}{
		{10, 8, 4},
		{10, 10, 4},
		{10, 8, 1},
		{2.5, 6, 3},
		{100, 50, 7},
		{1.0 / 3, 3, 2},
	} {
		ls := nodes(tc.n, false)
		single := limit.NewLocal()
		id := limit.BucketID{Region: "r"}
		got, want := 0, 0
		for ms := range 10001 {
			now := t0.Add(time.Duration(ms) * time.Millisecond)
			if ls[ms%tc.n].Allow(id, tc.rate, tc.burst, now).Allowed {
				got++
			}
			if single.Allow(id, tc.rate, tc.burst, now).Allowed {
				want++
			}
		}
		if lost := want - got; lost < 0 || lost > int(tc.burst)%tc.n+tc.n-1 {
			t.Errorf("rate %v burst %d over %d nodes: %d admitted in 10 s, one bucket %d", tc.rate, tc.burst, tc.n, got, want)
		}
	}
}

// TestTrafficOnOneNode: when one node receives all the traffic it admits its 1/N share only.
// And with AtLeastOne a burst smaller than N still admits, at most N at one instant.
func TestTrafficOnOneNode(t *testing.T) {
	var every []time.Time
	for at := time.Duration(0); at <= 10*time.Second; at += time.Millisecond {
		every = append(every, t0.Add(at))
	}
	for _, tc := range []struct {
		name       string
		rate       float64
		burst      int64
		n          int
		atLeastOne bool
		onOne      int // admitted by the node getting all traffic
		onAllFirst int // admitted by all nodes at the first instant
	}{
		{"4 nodes", 10, 8, 4, false, 2 + 25, 8},                    // burst 2 each, one per 400 ms
		{"1 node", 10, 8, 1, false, 8 + 100, 8},                    // the whole bucket
		{"burst below N", 10, 2, 3, false, 0, 0},                   // strict: nothing at all
		{"burst below N, at least one", 10, 2, 3, true, 1 + 33, 3}, // one per 300 ms; N − B = 1 over
	} {
		ls := nodes(tc.n, tc.atLeastOne)
		if got := saturate(ls[:1], tc.rate, tc.burst, 1, every)[0]; got != tc.onOne {
			t.Errorf("%s: the loaded node admitted %d over 10 s, want %d", tc.name, got, tc.onOne)
		}
		first := 0
		for _, c := range saturate(nodes(tc.n, tc.atLeastOne), tc.rate, tc.burst, 10, every[:1]) {
			first += c
		}
		if first != tc.onAllFirst {
			t.Errorf("%s: %d admitted at the first instant across nodes, want %d", tc.name, first, tc.onAllFirst)
		}
	}
}

// TestNodeCountChangeKeepsState: the share follows N on the next check, keeping the tokens a
// bucket holds as limit.Bucket.Configure does.
func TestNodeCountChangeKeepsState(t *testing.T) {
	var n atomic.Int64
	l := New(Options{Nodes: func() int { return int(n.Load()) }})
	id := limit.BucketID{Region: "r"}
	type step struct {
		nodes    int64
		at       time.Duration
		calls    int
		admitted int
	}
	for i, s := range []step{
		{2, 0, 6, 5},                         // share: burst 5, one per 200 ms
		{1, 0, 1, 0},                         // N drops: the drained share stays drained
		{1, 100 * time.Millisecond, 2, 1},    // and refills at the full rate
		{1, 1100 * time.Millisecond, 20, 10}, // up to the full burst
		{4, 1100 * time.Millisecond, 1, 0},   // N grows on a drained bucket: still drained
		{4, 1500 * time.Millisecond, 2, 1},   // the share refills one per 400 ms
		{1, 20 * time.Second, 3, 2},          // N drops on a full share: it keeps its 2 tokens, no instant burst
		{1, 30 * time.Second, 3, 3},          // refilled to the full 10; 7 left
		{4, 30 * time.Second, 5, 2},          // N grows: the share's burst (2) caps them
	} {
		n.Store(s.nodes)
		got := 0
		for range s.calls {
			if l.Allow(id, 10, 10, t0.Add(s.at)).Allowed {
				got++
			}
		}
		if got != s.admitted {
			t.Errorf("step %d (%d nodes, at %v): %d of %d admitted, want %d", i, s.nodes, s.at, got, s.calls, s.admitted)
		}
	}
}

func TestNewRequiresNodes(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New without Nodes did not panic")
		}
	}()
	New(Options{})
}

func BenchmarkAllow(b *testing.B) {
	var n atomic.Int64
	n.Store(3)
	l := New(Options{Nodes: func() int { return int(n.Load()) }})
	id := limit.BucketID{Region: "us-east-1", PlanID: "p", KeyID: "k", ApiID: "a", Stage: "prod", Method: "/pets/GET"}
	b.ReportAllocs()
	for b.Loop() {
		l.Allow(id, 1e9, 1<<40, t0)
	}
}
