// Package quota owns usage-plan quotas (spec §5): calendar period maths, the allowance rule (one
// function, Allowance) and Counter, an exact per-key request counter backed by durable leases.
//
// Exactness without a database call per request: a node admits a request only against quota it
// has already reserved durably (Ledger.ReserveQuota, atomic in the backend). Each Entry holds the
// unused part of its lease in one atomic int64 and admits with a CAS that keeps it ≥ 0, so the
// requests admitted by all nodes sharing a ledger never exceed the allowance. A node killed
// with a lease in hand loses that lease: the key is under-admitted by at most the lease size,
// never over-admitted. Leases are sized adaptively — large while much of the allowance remains,
// shrinking to a single request near the limit — and topped up in the background before they
// run dry, so a request waits for the ledger only when a key starts a period or nears its limit.
//
// The package never imports the store: the data plane links it and must not reach a database
// (see internal/archtest). quotastore adapts a store.Counters to Ledger.
package quota

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Key identifies one quota counter: a key's allowance in one plan for the period starting at
// PeriodStart (UTC). It mirrors store.QuotaKey field for field, so the two convert directly.
type Key struct {
	Region      string
	PlanID      string
	KeyID       string
	PeriodStart time.Time
}

// Ledger is the durable side of the counters (store.Counters has the same contract).
type Ledger interface {
	// ReserveQuota atomically raises the reservation of k by up to want, never beyond limit,
	// and returns what it granted (0 when exhausted) and the new total. MUST be durable before
	// it returns.
	ReserveQuota(ctx context.Context, k Key, want, limit int64) (granted, total int64, err error)
	// ReleaseQuota gives back n reserved but unused requests.
	ReleaseQuota(ctx context.Context, k Key, n int64) error
}

// Errors returned by Take.
var (
	ErrClosed    = errors.New("quota: counter closed")
	ErrBadPolicy = errors.New("quota: policy without a DAY, WEEK or MONTH period")
)

// Options tune a Counter. Zero fields take the defaults.
type Options struct {
	// MaxLease caps one reservation (default 1000): it bounds what a killed node can strand.
	MaxLease int64
	// Divisor sizes a reservation as the remaining allowance divided by Divisor (default 16),
	// so concurrent nodes share what is left instead of one node hoarding it.
	Divisor int64
	// Queue is the capacity of the background job queue (default 1024).
	Queue int
	// Timeout bounds each background ledger call (default 5s).
	Timeout time.Duration
	// IdleRelease gives a key's unused lease back to the ledger when it has not been used for
	// about this long (default 10s; negative: never), so leases stranded on a quiet node do not
	// keep other nodes from the last requests of an allowance.
	IdleRelease time.Duration
	// Deadline bounds how long a request waits for a synchronous lease (default 2s): past
	// it, Take returns the context error and the caller applies its fail-open/closed policy.
	Deadline time.Duration
	// OnError receives failures of background work (refills ahead, lease releases). Optional.
	OnError func(error)
	// Ahead is how long before a period boundary (00:00 UTC, where every DAY, WEEK and MONTH
	// period ends) the node leases the next period's quota for the keys it is serving, so that
	// their first requests after the boundary do not wait for the ledger (default 2m;
	// negative: never).
	Ahead time.Duration
	// Now is the clock the rollover schedule runs on (default time.Now; tests inject one).
	Now func() time.Time
	// Recheck is how long a key whose allowance is spent is rejected without asking the ledger
	// again (default 1s). Only leases other nodes give back can make such a key admissible
	// again before the period ends, so this bounds how late they are noticed. Negative: never
	// (a node alone on its ledger, where nobody else gives leases back; a new policy or period
	// still asks). Each recheck is a ledger write: with 10,000 spent keys under load, a
	// recheck a second per key cost the embedded store a fifth of the node's CPU.
	Recheck time.Duration
}

func (o *Options) defaults() {
	if o.Recheck == 0 {
		o.Recheck = time.Second
	}
	if o.MaxLease <= 0 {
		o.MaxLease = 1000
	}
	if o.Divisor <= 0 {
		o.Divisor = 16
	}
	if o.Queue <= 0 {
		o.Queue = 1024
	}
	if o.IdleRelease == 0 {
		o.IdleRelease = 10 * time.Second
	}
	if o.Deadline <= 0 {
		o.Deadline = 2 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Ahead == 0 {
		o.Ahead = 2 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Counter is the registry of quota entries of one node. Create it with New, end it with Close.
type Counter struct {
	ledger Ledger
	opt    Options

	mu      sync.Mutex
	entries []*Entry // append-only: a prefix read under mu never changes
	plans   map[planRef]*planInfo

	jobs    chan job
	stop    chan struct{}
	stopped chan struct{} // closed when run and rollovers have returned
	closed  atomic.Bool
	waits   atomic.Uint64
	counts  *countingLedger // ledger, with its counts reachable without a type assertion
}

// planRef is a region's plan. The Counter keeps one copy of each, and every entry of the plan
// points at it: 8 bytes an entry instead of two strings' 32.
type planRef struct{ region, planID string }

// planInfo is what an entry points at: its plan, and the Counter (8 bytes an entry less than a
// pointer of its own).
type planInfo struct {
	planRef
	c *Counter
}

// job is background work: refill e ahead when e is set, otherwise release n of key.
type job struct {
	e   *Entry
	key Key
	n   int64
}

// New returns a Counter leasing from l and starts its background goroutine (one per Counter).
func New(l Ledger, opt Options) *Counter {
	opt.defaults()
	counts := &countingLedger{Ledger: l}
	c := &Counter{
		ledger:  counts,
		counts:  counts,
		opt:     opt,
		plans:   map[planRef]*planInfo{},
		jobs:    make(chan job, opt.Queue),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	var wg sync.WaitGroup
	wg.Go(c.run)
	if opt.Ahead > 0 {
		wg.Go(c.rollovers)
	}
	go func() {
		wg.Wait()
		close(c.stopped)
	}()
	return c
}

// Entry creates the counter of a key in a plan. It lasts the Counter's lifetime — across
// periods, policy changes and snapshots — and the caller keeps it: the data plane's key state
// holds one per key and plan (snapshot.KeyStates), and never looks it up per request. The
// Counter keeps no index by ids, which at a million keys in use cost more than the entries
// themselves; two entries of one key are still exact, as each leases from the ledger.
func (c *Counter) Entry(region, planID, keyID string) *Entry {
	e := &Entry{keyID: keyID, lastTotal: -1}
	e.low.Store(-1)
	c.mu.Lock()
	ref := planRef{region, planID}
	if e.plan = c.plans[ref]; e.plan == nil {
		e.plan = &planInfo{ref, c}
		c.plans[ref] = e.plan
	}
	c.entries = append(c.entries, e)
	c.mu.Unlock()
	return e
}

// all returns every entry created so far.
func (c *Counter) all() []*Entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries
}

// Close stops the background goroutine, finishes queued releases and gives back every unused
// lease, so the next node (or this one restarted) can use them. Takes after Close fail with
// ErrClosed. A node that exits without Close only under-admits by its unused leases.
func (c *Counter) Close(ctx context.Context) error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(c.stop)
	<-c.stopped
	var errs []error
	for drained := false; !drained; {
		select {
		case j := <-c.jobs:
			if j.e != nil {
				j.e.pending.Store(false)
			} else if err := c.ledger.ReleaseQuota(ctx, j.key, j.n); err != nil {
				errs = append(errs, err)
			}
		default:
			drained = true
		}
	}
	for _, e := range c.all() {
		if err := e.releaseAll(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// run is the Counter's background goroutine: refills ahead, deferred releases and idle releases.
func (c *Counter) run() {
	var idle <-chan time.Time
	if c.opt.IdleRelease > 0 {
		t := time.NewTicker(c.opt.IdleRelease / 2)
		defer t.Stop()
		idle = t.C
	}
	for {
		select {
		case <-c.stop:
			return
		case <-idle:
			c.releaseIdle()
		case j := <-c.jobs:
			ctx, cancel := context.WithTimeout(context.Background(), c.opt.Timeout)
			if j.e != nil {
				j.e.refillAhead(ctx)
			} else if err := c.ledger.ReleaseQuota(ctx, j.key, j.n); err != nil {
				c.report(fmt.Errorf("quota: release %d of %v: %w", j.n, j.key, err))
			}
			cancel()
		}
	}
}

// rollovers leases ahead for each coming period boundary, Options.Ahead before it (at once when
// the Counter starts closer than that to one).
func (c *Counter) rollovers() {
	for {
		now := c.opt.Now()
		boundary := NextBoundary(now)
		if !c.sleep(boundary.Add(-c.opt.Ahead).Sub(now)) {
			return
		}
		c.PrepareRollover(boundary)
		// Sleep past the boundary before looking for the next one.
		if !c.sleep(boundary.Sub(c.opt.Now())) {
			return
		}
	}
}

// sleep waits d (nothing when d ≤ 0) and reports false if the Counter closed meanwhile.
func (c *Counter) sleep(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.stop:
		return false
	case <-t.C:
		return true
	}
}

// NextBoundary is the first 00:00 UTC after now: where every quota period ends.
func NextBoundary(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
}

// rolloverWorkers bounds the ledger calls of a rollover pass in flight at once: enough for the
// embedded store to commit them in groups, few enough to leave the ledger to requests.
const rolloverWorkers = 16

// PrepareRollover leases ahead, for every key this node is serving whose period ends at
// boundary, a lease of its next period. Serving means holding a lease, or having spent the
// allowance (a spent key that keeps calling starts the new period at once); keys whose lease
// went back as idle are left to lease on their next request. Exported for the rollover test.
func (c *Counter) PrepareRollover(boundary time.Time) {
	end := boundary.UnixNano()
	type item struct {
		e *Entry
		s *entryState
	}
	var due []item
	for _, e := range c.all() {
		s := e.state.Load()
		if x := e.exhausted.Load(); s != nil && s.end == end && (e.avail.Load() > 0 || (x != nil && x.s == s)) {
			due = append(due, item{e, s})
		}
	}
	work := make(chan item)
	var wg sync.WaitGroup
	for range min(rolloverWorkers, len(due)) {
		wg.Go(func() {
			for it := range work {
				ctx, cancel := context.WithTimeout(context.Background(), c.opt.Timeout)
				if err := it.e.prepareNext(ctx, it.s); err != nil {
					c.report(err)
				}
				cancel()
			}
		})
	}
	for _, it := range due {
		select {
		case work <- it:
		case <-c.stop:
		}
	}
	close(work)
	wg.Wait()
}

// releaseIdle gives back the leases that did not move since the previous call (two ticks apart:
// at least IdleRelease/2 without a single take or refill). It reads each entry's lease without
// touching the request path, which keeps no activity stamp of its own.
func (c *Counter) releaseIdle() {
	for _, e := range c.all() {
		a := e.avail.Load()
		if a > 0 && a == e.idleSeen {
			ctx, cancel := context.WithTimeout(context.Background(), c.opt.Timeout)
			if err := e.releaseIfUnchanged(ctx, a); err != nil {
				c.report(err)
			}
			cancel()
			a = 0
		}
		e.idleSeen = a
		if e.hasNext.Load() {
			ctx, cancel := context.WithTimeout(context.Background(), c.opt.Timeout)
			if err := e.releaseStaleNext(ctx, c.opt.Now(), c.opt.IdleRelease); err != nil {
				c.report(err)
			}
			cancel()
		}
	}
}

// kick asks the background goroutine to refill e ahead, at most once at a time per entry. It
// never blocks: with the queue full the refill happens synchronously when the lease runs out.
func (c *Counter) kick(e *Entry) {
	if !e.pending.CompareAndSwap(false, true) {
		return
	}
	select {
	case c.jobs <- job{e: e}:
	default:
		e.pending.Store(false)
	}
}

// releaseLater queues the release of an unused lease that no longer matters for admission (a
// past period's, or one whose synchronous release failed). Dropped when the queue is full: the
// key is then under-counted as if the node had been killed, which is the safe direction.
func (c *Counter) releaseLater(k Key, n int64) {
	select {
	case c.jobs <- job{key: k, n: n}:
	default:
		c.report(fmt.Errorf("quota: queue full, lease of %d for %v stranded", n, k))
	}
}

func (c *Counter) report(err error) {
	if c.opt.OnError != nil {
		c.opt.OnError(err)
	}
}

// leaseSize is how much to reserve given the allowance and the last total reservation seen (-1
// when unknown): a Divisor-th of what remains, between 1 and MaxLease.
func (c *Counter) leaseSize(allowance, lastTotal int64) int64 {
	rem := allowance
	if lastTotal >= 0 {
		rem -= lastTotal
	}
	return min(max(rem/c.opt.Divisor, 1), c.opt.MaxLease)
}
