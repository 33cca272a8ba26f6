// Package redislimit shares throttle buckets between Tollgate nodes through Redis: every check
// is one atomic Lua script (EVALSHA, falling back to EVAL when the server lost its script cache)
// that runs limit.Bucket's GCRA on a hash per bucket. The semantics are limit.Bucket's — start
// full, fractional rates, rate ≤ 0 never refills, burst ≤ 0 admits nothing, a limit change keeps
// the tokens held (Configure) — and limittest holds it to that on a real server.
//
// Time is the caller's: Allow takes `now`, the script never reads the Redis clock, so tests
// inject time and a bucket reads the same whichever node touches it.
//
// # Error bound
//
// While Redis answers, all nodes decide on one bucket, atomically: the cluster admits exactly
// what a single limit.Bucket would, except for clock skew, since each node evaluates with its own
// clock. If the nodes' clocks differ pairwise by at most Δ, any window of length w admits at most
// burst + rate × (w + Δ) requests (a single bucket: burst + rate × w), and a node whose clock lags
// sees the bucket emptier than it is (it under-admits). Further, exactly:
//   - A call that times out after Redis ran the script spent a token nobody used: under-admission
//     only, one token per such call.
//   - While Redis is failing, the Policy decides (see Policy): FallbackLocal enforces the limits
//     per node, so N nodes admit up to N × (burst + rate × w) in a window of that outage.
//     FailClosed admits nothing; FailOpen admits everything a burst > 0 allows.
//   - Redis failover with asynchronous replication can lose the last writes: over-admission by
//     the tokens those writes had taken.
//   - Keys expire Options.Grace after their bucket is full again. Dropping a full bucket changes
//     nothing, with one exception: if the burst is raised while the bucket is gone, it comes back
//     full at the new burst where limit.Bucket would hold the old one (at most new − old extra
//     tokens, once). A drained bucket that never refills (rate ≤ 0) never expires.
//   - The debt window is capped at 2^52 ns (≈52 days) instead of limit.Bucket's 2^61 (Lua numbers
//     are float64): a bucket taking longer than 52 days to fill holds fewer tokens, and a rate
//     below one token per 52 days never refills. Both only under-admit.
package redislimit

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tollgate/tollgate/internal/limit"
)

// Policy is what Allow does when Redis fails or misses the deadline.
type Policy int

const (
	// FallbackLocal decides against an in-process limit.Local: each node enforces the full
	// limits on its own, so a cluster of N over-admits by at most N× during the outage, and no
	// key is locked out by an outage. The local buckets start full and are not reconciled with
	// Redis when it recovers (Redis resumes from the state it had).
	FallbackLocal Policy = iota
	// FailClosed rejects, with RetryAfter = Options.Cooldown (the deadline when cooldowns are
	// off): nothing passes while the shared state is unknown.
	FailClosed
	// FailOpen admits every request whose bucket has a burst > 0: availability over limits.
	FailOpen
)

// String names the policy as configuration spells it.
func (p Policy) String() string {
	switch p {
	case FallbackLocal:
		return "local"
	case FailClosed:
		return "closed"
	case FailOpen:
		return "open"
	}
	return "unknown"
}

// ParsePolicy reads "local", "closed" or "open".
func ParsePolicy(s string) (Policy, error) {
	for _, p := range []Policy{FallbackLocal, FailClosed, FailOpen} {
		if p.String() == s {
			return p, nil
		}
	}
	return 0, errors.New("redislimit: unknown failure policy " + s + ` (want "local", "closed" or "open")`)
}

// Defaults of Options.
const (
	DefaultPrefix   = "tollgate:rl:"
	DefaultDeadline = 50 * time.Millisecond
	DefaultCooldown = time.Second
	DefaultGrace    = time.Minute
)

// Options configure a Limiter; zero values take the defaults.
type Options struct {
	// Prefix namespaces the keys, so several gateways (or tests) can share one Redis.
	Prefix string
	// Deadline bounds each check: a request never waits longer for Redis (default 50 ms).
	// It is enforced through the context, so the client must have ContextTimeoutEnabled
	// (Open sets it).
	Deadline time.Duration
	// Policy applies when Redis fails or misses the deadline (default FallbackLocal).
	Policy Policy
	// Cooldown is how long, in the callers' clock, checks skip Redis after a failure and apply
	// the Policy directly, so an outage costs one deadline per cooldown instead of one per
	// request (default 1 s; negative: try Redis on every call).
	Cooldown time.Duration
	// Grace is how long a full bucket's key outlives the moment it filled up (default 1 min).
	// It should exceed the clock skew between nodes: a node lagging by more than Grace could
	// find the key gone while its clock still says the bucket holds debt.
	Grace time.Duration
	// OnError, if set, is called with every Redis failure (not with the skipped calls of a
	// cooldown), for logs and metrics. It must not block.
	OnError func(error)
}

// Limiter is a limit.Limiter whose buckets live in Redis. Safe for concurrent use.
type Limiter struct {
	rdb      redis.Scripter
	owned    *redis.Client // closed by Close when Open created it
	prefix   string
	deadline time.Duration
	policy   Policy
	cooldown time.Duration
	graceMS  int64
	onError  func(error)
	local    *limit.Local

	downUntil atomic.Int64 // callers' Unix ns before which Redis is not tried
	failures  atomic.Uint64
}

var _ limit.Limiter = (*Limiter)(nil)

// New returns a Limiter on rdb (a *redis.Client, *redis.ClusterClient or *redis.Ring). rdb must
// have ContextTimeoutEnabled, or socket I/O ignores Options.Deadline.
func New(rdb redis.Scripter, o Options) *Limiter {
	l := &Limiter{
		rdb:      rdb,
		prefix:   o.Prefix,
		deadline: o.Deadline,
		policy:   o.Policy,
		cooldown: o.Cooldown,
		onError:  o.OnError,
		local:    limit.NewLocal(),
	}
	if l.prefix == "" {
		l.prefix = DefaultPrefix
	}
	if l.deadline <= 0 {
		l.deadline = DefaultDeadline
	}
	switch {
	case l.cooldown == 0:
		l.cooldown = DefaultCooldown
	case l.cooldown < 0:
		l.cooldown = 0
	}
	grace := o.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	l.graceMS = max(grace.Milliseconds(), 1) // PEXPIRE 0 would delete the key
	l.downUntil.Store(math.MinInt64)
	return l
}

// Open connects to the Redis at url (redis://[user:pass@]host:port/db, or rediss://) with
// context deadlines enabled and returns a Limiter owning that client; Close releases it.
func Open(url string, o Options) (*Limiter, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	opt.ContextTimeoutEnabled = true
	rdb := redis.NewClient(opt)
	l := New(rdb, o)
	l.owned = rdb
	return l, nil
}

// Close closes the client Open created; it does nothing for a Limiter made by New.
func (l *Limiter) Close() error {
	if l.owned == nil {
		return nil
	}
	return l.owned.Close()
}

// Failures returns how many checks Redis failed (cooldown skips not counted).
func (l *Limiter) Failures() uint64 { return l.failures.Load() }

// Allow decides one request against bucket id in Redis, or by the Policy when Redis fails.
func (l *Limiter) Allow(id limit.BucketID, rate float64, burst int64, now time.Time) limit.Decision {
	ns := now.UnixNano()
	p := newParams(rate, burst)
	// Within a cooldown, skip Redis. The second test ignores a cooldown that ends further away
	// than one cooldown — the clock stepped back — rather than stay off Redis until it catches up.
	if until := l.downUntil.Load(); ns < until && until-ns <= int64(l.cooldown) {
		return l.degraded(id, rate, burst, now, &p)
	}
	ok, debt, err := l.check(&id, &p, ns)
	if err != nil {
		l.failures.Add(1)
		if l.cooldown > 0 {
			l.downUntil.Store(ns + int64(l.cooldown))
		}
		if l.onError != nil {
			l.onError(err)
		}
		return l.degraded(id, rate, burst, now, &p)
	}
	return p.report(ok, debt)
}

// check runs the script once within the deadline.
func (l *Limiter) check(id *limit.BucketID, p *params, ns int64) (bool, int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), l.deadline)
	defer cancel()
	s, n := splitNanos(ns)
	frozen := "0"
	if p.frozen {
		frozen = "1"
	}
	res, err := gcra.Run(ctx, l.rdb, []string{keyFor(l.prefix, id)},
		s, n, p.rate, p.burst, p.t, p.cap, frozen, l.graceMS).Int64Slice()
	if err != nil {
		return false, 0, err
	}
	if len(res) != 2 {
		return false, 0, errors.New("redislimit: malformed script reply")
	}
	return res[0] == 1, res[1], nil
}

// degraded decides without Redis, by the Policy.
func (l *Limiter) degraded(id limit.BucketID, rate float64, burst int64, now time.Time, p *params) limit.Decision {
	switch l.policy {
	case FailOpen:
		if p.cap > 0 {
			return limit.Decision{Allowed: true, Limit: p.cap}
		}
		return p.report(false, 0)
	case FailClosed:
		retry := l.cooldown
		if retry <= 0 {
			retry = l.deadline
		}
		return limit.Decision{Limit: p.cap, RetryAfter: retry, Reset: retry}
	default:
		return l.local.Allow(id, rate, burst, now)
	}
}
