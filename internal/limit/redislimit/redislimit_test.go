package redislimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tollgate/tollgate/internal/limit"
	"github.com/tollgate/tollgate/internal/limit/limittest"
)

var t0 = time.Date(2026, 9, 13, 12, 0, 0, 0, time.UTC)

// redisURL is the server the tests use: TOLLGATE_TEST_REDIS or the local default.
func redisURL() string {
	if u := os.Getenv("TOLLGATE_TEST_REDIS"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// redisProbe is whether the test Redis answers, checked once per test binary: one PING over a
// connection with a short dial timeout and no retries, so a stopped server costs each test
// milliseconds (go-redis's own retries and backoff took ~1.7 s per test).
var redisProbe = sync.OnceValue(func() error {
	opt, err := redis.ParseURL(redisURL())
	if err != nil {
		return err
	}
	opt.DialTimeout = 300 * time.Millisecond
	opt.ReadTimeout = time.Second
	opt.MaxRetries = -1   // no command retries
	opt.DialerRetries = 1 // one dial (0 would mean the default, 5)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return rdb.Ping(ctx).Err()
})

// testClient connects to the test Redis. Unreachable, it skips — or fails when CI=true, where
// the CI script promises a server.
func testClient(tb testing.TB) *redis.Client {
	tb.Helper()
	opt, err := redis.ParseURL(redisURL())
	if err != nil {
		tb.Fatalf("TOLLGATE_TEST_REDIS: %v", err)
	}
	if err := redisProbe(); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("Redis at %s unreachable with CI=true: %v", redisURL(), err)
		}
		tb.Skipf("no Redis at %s (set TOLLGATE_TEST_REDIS): %v", redisURL(), err)
	}
	opt.ContextTimeoutEnabled = true
	rdb := redis.NewClient(opt)
	tb.Cleanup(func() { rdb.Close() })
	return rdb
}

// testPrefix is a key prefix no other test uses; its keys are deleted when tb ends.
func testPrefix(tb testing.TB, rdb *redis.Client) string {
	var b [8]byte
	rand.Read(b[:])
	prefix := "tollgate-test:" + hex.EncodeToString(b[:]) + ":"
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			tb.Logf("cleaning up %s*: %v", prefix, err)
		}
	})
	return prefix
}

// newTestLimiter returns a Limiter on the test Redis that fails the test on any Redis error,
// so a fallback can never hide a wrong answer. The deadline is generous: CI machines are busy.
func newTestLimiter(tb testing.TB) (*Limiter, *redis.Client, string) {
	rdb := testClient(tb)
	prefix := testPrefix(tb, rdb)
	l := New(rdb, Options{Prefix: prefix, Deadline: 5 * time.Second, OnError: func(err error) {
		tb.Errorf("Redis error: %v", err)
	}})
	return l, rdb, prefix
}

func TestConformance(t *testing.T) {
	limittest.Run(t, func(t *testing.T) limit.Limiter {
		l, _, _ := newTestLimiter(t)
		return l
	})
}

// TestMatchesBucket replays random traffic with random limit changes against limit.Local and
// Redis side by side: every Decision must be identical, field by field.
func TestMatchesBucket(t *testing.T) {
	l, _, _ := newTestLimiter(t)
	rates := []float64{10, 0.1, 3, 1.0 / 3, 7.5, 1000, 0, -1, 2e9, 0.0004}
	bursts := []int64{5, 1, 0, -2, 3, 20, 100}
	steps := []time.Duration{0, 0, 1, 37 * time.Millisecond, 100 * time.Millisecond, time.Second, time.Hour}
	for seed := range uint64(4) {
		local := limit.NewLocal()
		rng := mrand.New(mrand.NewPCG(seed, 7))
		id := limit.BucketID{Region: "r", KeyID: "seed", Method: string(rune('a' + seed))}
		rate, burst, now := rates[0], bursts[0], t0
		for i := range 600 {
			if rng.IntN(8) == 0 {
				rate = rates[rng.IntN(len(rates))]
			}
			if rng.IntN(8) == 0 {
				burst = bursts[rng.IntN(len(bursts))]
			}
			if rng.IntN(2) == 0 {
				now = now.Add(steps[rng.IntN(len(steps))])
			} else {
				now = now.Add(time.Duration(rng.Int64N(int64(2 * time.Second))))
			}
			want := local.Allow(id, rate, burst, now)
			if got := l.Allow(id, rate, burst, now); got != want {
				t.Fatalf("seed %d step %d (rate %v, burst %d, at %v): Redis %+v, limit.Local %+v",
					seed, i, rate, burst, now.Sub(t0), got, want)
			}
		}
	}
}

func TestKeyEncoding(t *testing.T) {
	ids := []limit.BucketID{
		{},
		{Region: "us-east-1"},
		{Region: "us-east-1", PlanID: "p", KeyID: "k"},
		{Region: "us-east-1", PlanID: "p", KeyID: "k", ApiID: "a", Stage: "s", Method: "/pets/{id}/GET"},
		{Region: "us-east-1", ApiID: "a", Stage: "s", Method: "*/*"},
		{Region: "a|b"},
		{Region: "a", PlanID: "b"},
		{Region: "a%7Cb"},
		{Region: "|"},
		{PlanID: ""},
		{Method: "x"},
		{Stage: "x"},
		{Region: "%"},
		{Region: "%25"},
	}
	seen := map[string]limit.BucketID{}
	for _, id := range ids {
		k := keyFor("p:", &id)
		if prev, dup := seen[k]; dup && prev != id {
			t.Errorf("%+v and %+v share key %q", prev, id, k)
		}
		seen[k] = id
	}
	for _, tc := range []struct {
		id   limit.BucketID
		want string
	}{
		{limit.BucketID{Region: "us-east-1", PlanID: "p1", KeyID: "k1"}, "p:us-east-1|p1|k1"},
		{limit.BucketID{Region: "us-east-1", ApiID: "a", Stage: "prod", Method: "/pets/{id}/GET"}, "p:us-east-1|||a|prod|/pets/%7Bid%7D/GET"},
		{limit.BucketID{Region: "a|b%"}, "p:a%7Cb%25"},
	} {
		if got := keyFor("p:", &tc.id); got != tc.want {
			t.Errorf("keyFor(%+v) = %q, want %q", tc.id, got, tc.want)
		}
	}
}

// A key expires Grace after its bucket is full again; a drained bucket that never refills is
// kept, or expiry would give its burst out a second time.
func TestKeyExpiry(t *testing.T) {
	l, rdb, prefix := newTestLimiter(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		rate        float64
		burst       int64
		calls       int
		persistent  bool
		ttlMin, max time.Duration
	}{
		{"refilling", 10, 5, 3, false, DefaultGrace + 200*time.Millisecond, DefaultGrace + 300*time.Millisecond},
		{"burst 0", 10, 0, 1, false, DefaultGrace - time.Second, DefaultGrace},
		{"frozen, drained", 0, 5, 1, true, 0, 0},
		{"frozen, untouched", 0, 0, 1, false, DefaultGrace - time.Second, DefaultGrace},
	} {
		id := limit.BucketID{Region: tc.name}
		for range tc.calls {
			l.Allow(id, tc.rate, tc.burst, t0)
		}
		ttl, err := rdb.PTTL(ctx, keyFor(prefix, &id)).Result()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case tc.persistent && ttl != -1:
			t.Errorf("%s: TTL %v, want none", tc.name, ttl)
		case !tc.persistent && (ttl < tc.ttlMin || ttl > tc.max):
			t.Errorf("%s: TTL %v, want within [%v, %v]", tc.name, ttl, tc.ttlMin, tc.max)
		}
	}
}

// deadAddr returns a loopback address nothing listens on: connections are refused at once.
func deadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// A server that accepts connections and never answers: Redis stalled.
func stalledAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func badClient(t *testing.T, addr string) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// TestFailurePolicies drives each policy against a Redis that refuses connections: four calls
// at one instant on a bucket of burst 2.
func TestFailurePolicies(t *testing.T) {
	for _, tc := range []struct {
		policy   Policy
		cooldown time.Duration
		admitted int
		failures uint64
	}{
		{FallbackLocal, 0, 2, 1}, // the local bucket: exactly the burst; one failure, then cooldown
		{FailClosed, 0, 0, 1},
		{FailOpen, 0, 4, 1},
		{FallbackLocal, -1, 2, 4}, // no cooldown: every call tries Redis
	} {
		var errs atomic.Int64
		l := New(badClient(t, deadAddr(t)), Options{Policy: tc.policy, Cooldown: tc.cooldown,
			OnError: func(error) { errs.Add(1) }})
		got := 0
		var d limit.Decision
		for range 4 {
			if d = l.Allow(limit.BucketID{Region: "r"}, 1, 2, t0); d.Allowed {
				got++
			}
		}
		if got != tc.admitted || l.Failures() != tc.failures || errs.Load() != int64(tc.failures) {
			t.Errorf("%v cooldown %v: %d admitted, %d failures, %d errors reported; want %d, %d",
				tc.policy, tc.cooldown, got, l.Failures(), errs.Load(), tc.admitted, tc.failures)
		}
		if tc.policy == FailClosed && d.RetryAfter != DefaultCooldown {
			t.Errorf("closed: RetryAfter %v, want the cooldown", d.RetryAfter)
		}
	}
	// Failing open still honours a burst of 0: no Redis is needed to know it admits nothing.
	l := New(badClient(t, deadAddr(t)), Options{Policy: FailOpen})
	if d := l.Allow(limit.BucketID{}, 1, 0, t0); d.Allowed || d.RetryAfter != limit.Forever {
		t.Errorf("open, burst 0: %+v", d)
	}
}

// The cooldown is measured in the callers' clock: it ends when that clock passes it, and a clock
// stepping back further than one cooldown does not keep Redis off until it catches up.
func TestCooldown(t *testing.T) {
	l := New(badClient(t, deadAddr(t)), Options{Policy: FailClosed, Cooldown: time.Second})
	id := limit.BucketID{Region: "r"}
	for i, tc := range []struct {
		at       time.Duration
		failures uint64
	}{
		{0, 1},
		{999 * time.Millisecond, 1},  // within the cooldown: Redis not tried
		{500 * time.Millisecond, 1},  // back, but still within
		{time.Second, 2},             // over: tried (and failed) again
		{time.Second - time.Hour, 3}, // an hour back: tried again
	} {
		l.Allow(id, 1, 1, t0.Add(tc.at))
		if l.Failures() != tc.failures {
			t.Errorf("step %d (at %v): %d failures, want %d", i, tc.at, l.Failures(), tc.failures)
		}
	}
}

// A stalled Redis costs a request at most the deadline, then the policy answers.
func TestDeadline(t *testing.T) {
	const deadline = 50 * time.Millisecond
	l := New(badClient(t, stalledAddr(t)), Options{Deadline: deadline, Policy: FailClosed, Cooldown: -1})
	for i := range 3 {
		start := time.Now()
		d := l.Allow(limit.BucketID{Region: "r"}, 10, 5, t0)
		took := time.Since(start)
		if d.Allowed {
			t.Fatal("a stalled Redis admitted under FailClosed")
		}
		if took < deadline || took > deadline+250*time.Millisecond {
			t.Errorf("call %d took %v, want about the %v deadline", i, took, deadline)
		}
	}
	if l.Failures() != 3 {
		t.Errorf("%d failures, want 3", l.Failures())
	}
}

// proxy forwards loopback connections to Redis until cut, when it drops them all and refuses
// new ones (by closing them on accept): Redis going away and coming back without touching the
// shared server.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.cut {
				p.mu.Unlock()
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.setCut(true) })
	return p
}

func (p *proxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

// TestRecovery: Redis drains a bucket, goes away (the local fallback admits its own burst),
// comes back after the cooldown and still holds the drained state.
func TestRecovery(t *testing.T) {
	rdb := testClient(t)
	prefix := testPrefix(t, rdb)
	px := newProxy(t, rdb.Options().Addr)
	var errs atomic.Int64
	l := New(badClient(t, px.ln.Addr().String()), Options{Prefix: prefix, Deadline: 2 * time.Second,
		OnError: func(error) { errs.Add(1) }})
	id := limit.BucketID{Region: "r", KeyID: "recovery"}
	count := func(at time.Time, n int) int {
		got := 0
		for range n {
			if l.Allow(id, 0, 2, at).Allowed {
				got++
			}
		}
		return got
	}
	if got := count(t0, 3); got != 2 || errs.Load() != 0 {
		t.Fatalf("through Redis: %d admitted (%d errors), want 2 (0)", got, errs.Load())
	}
	px.setCut(true)
	if got := count(t0.Add(time.Second), 3); got != 2 || errs.Load() != 1 {
		t.Fatalf("Redis cut: %d admitted (%d errors), want the local burst 2 (1 error)", got, errs.Load())
	}
	px.setCut(false)
	if got := count(t0.Add(time.Second+DefaultCooldown/2), 1); got != 0 || errs.Load() != 1 {
		t.Fatalf("within the cooldown: %d admitted (%d errors), want the drained local bucket", got, errs.Load())
	}
	// go-redis may hand out a pooled connection the cut closed; poll (bounded) until a call
	// reaches Redis, each after a fresh cooldown.
	at := t0.Add(3 * time.Second)
	for deadline := time.Now().Add(5 * time.Second); ; at = at.Add(2 * DefaultCooldown) {
		before := errs.Load()
		got := count(at, 1)
		if errs.Load() == before {
			if got != 0 {
				t.Fatalf("after recovery: admitted, but Redis's bucket was drained")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Redis never came back through the proxy")
		}
	}
}

func TestParsePolicy(t *testing.T) {
	for _, p := range []Policy{FallbackLocal, FailClosed, FailOpen} {
		if got, err := ParsePolicy(p.String()); err != nil || got != p {
			t.Errorf("ParsePolicy(%q) = %v, %v", p.String(), got, err)
		}
	}
	if _, err := ParsePolicy("sometimes"); err == nil {
		t.Error("ParsePolicy accepted an unknown policy")
	}
}

func TestOpen(t *testing.T) {
	testClient(t) // skip without Redis
	l, err := Open(redisURL(), Options{Prefix: testPrefix(t, testClient(t))})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if d := l.Allow(limit.BucketID{Region: "open"}, 1, 1, t0); !d.Allowed || l.Failures() != 0 {
		t.Fatalf("%+v, %d failures", d, l.Failures())
	}
	if _, err := Open("http://nope", Options{}); err == nil {
		t.Fatal("Open accepted a non-Redis URL")
	}
}

// BenchmarkAllow measures one check: a round trip to the test Redis and the script.
func BenchmarkAllow(b *testing.B) {
	l, _, _ := newTestLimiter(b)
	id := limit.BucketID{Region: "us-east-1", PlanID: "plan123456", KeyID: "key1234567", ApiID: "api1234567", Stage: "prod", Method: "/pets/GET"}
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Microsecond)
		l.Allow(id, 1e9, 1<<20, now)
	}
}

// BenchmarkAllowParallel is many callers on distinct buckets sharing the client's pool.
func BenchmarkAllowParallel(b *testing.B) {
	l, _, _ := newTestLimiter(b)
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		id := limit.BucketID{Region: "us-east-1", KeyID: string(rune('a' + n.Add(1)))}
		for pb.Next() {
			l.Allow(id, 1e9, 1<<20, t0)
		}
	})
}
