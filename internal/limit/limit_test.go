package limit_test

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/limit"
	"github.com/tollgate/tollgate/internal/limit/limittest"
)

func TestLocalConformance(t *testing.T) {
	limittest.Run(t, func(*testing.T) limit.Limiter { return limit.NewLocal() })
}

var t0 = time.Date(2026, 9, 13, 12, 0, 0, 0, time.UTC).UnixNano()

func TestBucketStartsFull(t *testing.T) {
	for _, tc := range []struct {
		rate  float64
		burst int64
		want  int
	}{
		{10, 5, 5},
		{0.1, 3, 3},
		{0, 3, 3},
		{1e12, 4, 4}, // faster than one token per ns: counted at 1/ns
		{5, 0, 0},
		{5, -1, 0},
		{-1, 2, 2}, // negative rate never refills
	} {
		b := limit.NewBucket(tc.rate, tc.burst, t0)
		got := 0
		for range tc.burst + 3 {
			if b.Allow(t0) {
				got++
			}
		}
		if got != tc.want {
			t.Errorf("rate %v burst %d: %d admitted at one instant, want %d", tc.rate, tc.burst, got, tc.want)
		}
	}
}

// A huge burst at a slow rate would overflow burst × T: the bucket then holds what fits in the
// ~73-year window instead of wrapping around.
func TestBucketHugeBurstDoesNotOverflow(t *testing.T) {
	b := limit.NewBucket(0.001, 1<<62, t0) // T = 1000 s
	d := b.Decide(t0)
	if !d.Allowed || d.Limit != (1<<61)/int64(1000*time.Second) {
		t.Fatalf("decision %+v, want admitted with the clamped capacity", d)
	}
}

func TestConfigureSameLimitsKeepsState(t *testing.T) {
	b := limit.NewBucket(1, 2, t0)
	b.Allow(t0)
	b.Allow(t0)
	b.Configure(1, 2, t0+int64(time.Hour)) // a no-op: must not refill anything
	if b.Allow(t0) {
		t.Fatal("reconfiguring with the same limits refilled the bucket")
	}
	if r, bu := b.Limits(); r != 1 || bu != 2 {
		t.Fatalf("Limits() = %v, %d", r, bu)
	}
}

// Configure racing with Allow on a never-refilling bucket: the token count can only shrink,
// whatever interleaving the CAS loop sees.
func TestConfigureRacesAllow(t *testing.T) {
	b := limit.NewBucket(0, 1000, t0)
	var wg sync.WaitGroup
	admitted := make([]int, 8)
	for g := range admitted {
		wg.Go(func() {
			for range 300 {
				if b.Allow(t0) {
					admitted[g]++
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 200 {
			b.Configure(0, int64(1000+i%2), t0)
		}
	})
	wg.Wait()
	total := 0
	for _, n := range admitted {
		total += n
	}
	if total != 1000 {
		t.Fatalf("%d admitted, want exactly 1000", total)
	}
}

func TestLocalBindsOneBucketPerID(t *testing.T) {
	l := limit.NewLocal()
	id := limit.BucketID{Region: "r", ApiID: "a", Stage: "s", Method: "/GET"}
	b1 := l.Bucket(id, 1, 1, t0)
	b2 := l.Bucket(id, 2, 3, t0)
	if b1 != b2 {
		t.Fatal("a limit change replaced the bucket")
	}
	if r, bu := b1.Limits(); r != 2 || bu != 3 {
		t.Fatalf("Limits() = %v, %d after reconfiguration", r, bu)
	}
	if l.Len() != 1 {
		t.Fatalf("Len() = %d", l.Len())
	}
}

// Follow reconfigures a bucket only when the limits differ, keeping its tokens, as Configure
// does; with its own limits (a NaN rate included, which the bucket holds as 0) it changes nothing.
func TestFollow(t *testing.T) {
	for _, tc := range []struct {
		name             string
		rate             float64
		burst            int64
		wantRate         float64
		wantBurst        int64
		wantAllowedAfter int // of 5 requests at the same instant
	}{
		{"same limits", 1, 2, 1, 2, 1},
		{"lower burst", 1, 1, 1, 1, 1},
		{"higher burst keeps the tokens", 1, 4, 1, 4, 1},
		{"NaN rate", math.NaN(), 2, 0, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rate := 1.0
			if tc.rate != tc.rate {
				rate = math.NaN()
			}
			b := limit.NewBucket(rate, 2, t0)
			b.Allow(t0) // one of its two tokens is spent
			b.Follow(tc.rate, tc.burst, t0)
			if r, bu := b.Limits(); r != tc.wantRate || bu != tc.wantBurst {
				t.Fatalf("Limits() = %v, %d; want %v, %d", r, bu, tc.wantRate, tc.wantBurst)
			}
			n := 0
			for range 5 {
				if b.Allow(t0) {
					n++
				}
			}
			if n != tc.wantAllowedAfter {
				t.Fatalf("%d requests allowed after Follow, want %d", n, tc.wantAllowedAfter)
			}
		})
	}
}

func TestAllowDoesNotAllocate(t *testing.T) {
	l := limit.NewLocal()
	id := limit.BucketID{Region: "us-east-1", PlanID: "p", KeyID: "k", ApiID: "a", Stage: "prod", Method: "/pets/GET"}
	now := time.Unix(0, t0)
	l.Allow(id, 10, 5, now)
	if n := testing.AllocsPerRun(1000, func() { l.Allow(id, 10, 5, now) }); n != 0 {
		t.Fatalf("Local.Allow allocates %v times per call", n)
	}
	b := l.Bucket(id, 10, 5, t0)
	if n := testing.AllocsPerRun(1000, func() { b.Decide(t0) }); n != 0 {
		t.Fatalf("Bucket.Decide allocates %v times per call", n)
	}
}

func BenchmarkBucketAllow(b *testing.B) {
	bk := limit.NewBucket(1e9, 1<<40, t0)
	b.ReportAllocs()
	now := t0
	for b.Loop() {
		now++
		bk.Allow(now)
	}
}

func BenchmarkBucketAllowParallel(b *testing.B) {
	bk := limit.NewBucket(1e9, 1<<40, t0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bk.Allow(t0)
		}
	})
}

func BenchmarkLocalAllow(b *testing.B) {
	l := limit.NewLocal()
	id := limit.BucketID{Region: "us-east-1", PlanID: "plan123456", KeyID: "key1234567", ApiID: "api1234567", Stage: "prod", Method: "/pets/GET"}
	now := time.Unix(0, t0)
	l.Allow(id, 1e9, 1<<40, now)
	b.ReportAllocs()
	for b.Loop() {
		l.Allow(id, 1e9, 1<<40, now)
	}
}
