package quota

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Entry counts one key's requests in one plan. Take is safe for concurrent use.
//
// avail is the unused part of the node's lease for the current period: Take admits by
// decrementing it with a CAS that never goes below 0; refills add to it and releases swap it to
// 0, both under mu. So at every moment the ledger's reservation covers what this node admitted
// plus avail, and nothing is admitted beyond a grant.
type Entry struct {
	avail   atomic.Int64
	low     atomic.Int64 // refill ahead when avail drops to this (-1: never)
	state   atomic.Pointer[entryState]
	pending atomic.Bool // a refill ahead is queued or running
	hasNext atomic.Bool // next != nil, readable without mu (idle release)

	plan  *planInfo // the Counter's one copy of the region and plan id, and the Counter
	keyID string

	mu        sync.Mutex // serialises ledger calls and state changes
	lastTotal int64      // total reservation the ledger last reported (-1: unknown); guarded by mu

	// next is the lease reserved ahead for the period after state's (Counter.PrepareRollover),
	// taken over by the first request of that period without a ledger call; guarded by mu.
	next *nextLease

	// exhausted remembers that the ledger granted nothing for a state, until when: requests of
	// a spent key are rejected without a store round trip, and the ledger is asked again at most
	// once per Options.Recheck in case another node gave leases back. One pointer (made when a
	// key is found spent, at most once per recheck) rather than a pointer and a time: with the
	// Counter reached through plan, an entry is 96 bytes instead of 112.
	exhausted atomic.Pointer[exhaustion]

	idleSeen int64 // the lease at the previous idle check; only the Counter's goroutine uses it
}

// entryState is the period and allowance the lease in avail was reserved for. Immutable, and
// shared: every entry under one policy in one period holds the policy's one state for that
// period (Policy.state), so a key in use costs no state of its own (48 bytes a key before). It
// holds no ledger Key (Entry.key makes one on the slow paths that need it).
type entryState struct {
	policy     *Policy
	period     string
	start, end int64 // the period, [start, end) in Unix ns
	allowance  int64
}

// An entry is made for every key in use, a million of them on a large store: it must stay
// within the 96-byte size class (this fails to compile if it grows past it).
var _ [96 - unsafe.Sizeof(Entry{})]byte

// exhaustion is a spent state and when to ask the ledger again (Unix ns).
type exhaustion struct {
	s     *entryState
	until int64
}

// spent reports whether the ledger said s was exhausted and ns is before the recheck.
func (e *Entry) spent(s *entryState, ns int64) bool {
	x := e.exhausted.Load()
	return x != nil && x.s == s && ns < x.until
}

// nextLease is a lease reserved ahead: its period and allowance, the grant and the total
// reservation the ledger reported with it.
type nextLease struct {
	entryState
	avail, total int64
}

// key is the ledger's key of the period of s.
func (e *Entry) key(s *entryState) Key {
	return Key{Region: e.plan.region, PlanID: e.plan.planID, KeyID: e.keyID, PeriodStart: time.Unix(0, s.start).UTC()}
}

// Take admits one request at time now under policy p, or reports that the key's quota for the
// period is exhausted (false, nil). When the lease is empty it reserves more from the ledger
// synchronously; a ledger failure returns (false, err) and the caller chooses to fail open or
// closed. p must stay the same pointer while the policy is unchanged (build it once per
// snapshot): a new pointer makes Take recompute the period's allowance and, if it changed, give
// back the unused lease and reserve again against the new allowance.
func (e *Entry) Take(ctx context.Context, p *Policy, now time.Time) (bool, error) {
	if ok, decided := e.TryTake(p, now); decided {
		return ok, nil
	}
	return e.takeSlow(ctx, p, now)
}

// TryTake is Take without waiting: decided is false when the answer needs the ledger (no lease
// on hand, a new period or policy, a spent key due for its recheck), and then nothing was taken;
// the caller runs Take where waiting is allowed. An event loop calls it, where a store round trip
// would stall every connection the loop serves.
func (e *Entry) TryTake(p *Policy, now time.Time) (ok, decided bool) {
	if s := e.state.Load(); s != nil && s.policy == p {
		if ns := now.UnixNano(); ns >= s.start && ns < s.end {
			if e.takeLease(true) {
				return true, true
			}
			if e.spent(s, ns) {
				return false, true
			}
		}
	}
	return false, false
}

// Unused returns the unused part of this node's lease.
func (e *Entry) Unused() int64 { return e.avail.Load() }

// takeLease takes one request from the lease, lock-free. With kick, the request that brings the
// lease down to the low watermark asks for a refill ahead (exactly one request sees that value).
func (e *Entry) takeLease(kick bool) bool {
	for {
		a := e.avail.Load()
		if a <= 0 {
			return false
		}
		if e.avail.CompareAndSwap(a, a-1) {
			if kick && a-1 == e.low.Load() {
				e.plan.c.kick(e)
			}
			return true
		}
	}
}

func (e *Entry) takeSlow(ctx context.Context, p *Policy, now time.Time) (bool, error) {
	// A request waits for the ledger at most Options.Deadline, however slow the store is.
	ctx, cancel := context.WithTimeout(ctx, e.plan.c.opt.Deadline)
	defer cancel()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.plan.c.closed.Load() {
		return false, ErrClosed
	}
	s, err := e.sync(ctx, p, now)
	if err != nil {
		return false, err
	}
	for waited := false; ; waited = true {
		if e.takeLease(false) {
			return true, nil
		}
		if !waited {
			e.plan.c.waits.Add(1) // this request waits for the ledger
		}
		// Lock-free takers may drain a fresh grant before we get to it: reserve again until the
		// ledger says the allowance is exhausted.
		g, err := e.reserve(ctx, s)
		if err != nil {
			return false, err
		}
		if g == 0 {
			until := s.end
			if e.plan.c.opt.Recheck > 0 {
				until = min(now.Add(e.plan.c.opt.Recheck).UnixNano(), s.end)
			}
			e.exhausted.Store(&exhaustion{s, until})
			return false, nil
		}
	}
}

// sync makes the entry's state match policy p at time now (e.mu held) and returns it. A new
// period starts with an empty lease, the old one released in the background; a changed
// allowance in the same period releases the lease synchronously first, so the re-reservation
// is checked against the new allowance with this node's unused lease no longer counted.
func (e *Entry) sync(ctx context.Context, p *Policy, now time.Time) (*entryState, error) {
	s := e.state.Load()
	if s != nil && s.policy == p && now.UnixNano() < s.end {
		return s, nil // a caller from before the period started is charged to this one
	}
	if p == nil || !ValidPeriod(p.Quota.Period) {
		return nil, ErrBadPolicy
	}
	start := PeriodStart(p.Quota.Period, now)
	if s != nil && s.period == p.Quota.Period && start.UnixNano() < s.start {
		start = time.Unix(0, s.start).UTC() // never step back into a finished period
	}
	allowance := p.AllowanceAt(start)
	sn := start.UnixNano()
	samePeriod := s != nil && s.start == sn
	if samePeriod && s.allowance == allowance {
		ns := p.state(start)
		e.state.Store(ns)
		return ns, nil
	}
	if nx := e.next; nx != nil && nx.start <= sn {
		e.takeNext()
		if nx.start == sn && nx.period == p.Quota.Period && nx.allowance == allowance {
			// The period this request starts was leased ahead: take that lease over.
			if n := e.avail.Swap(0); n > 0 && s != nil {
				e.plan.c.releaseLater(e.key(s), n)
			}
			ns := p.state(start) // the same period and allowance
			e.lastTotal = nx.total
			e.low.Store(-1)
			if nx.avail >= 4 {
				e.low.Store(nx.avail / 4)
			}
			e.avail.Add(nx.avail)
			e.state.Store(ns)
			return ns, nil
		}
		// Leased for an allowance that changed since, or for a period long gone: give it back,
		// at once if it is this period's, so the reservation below counts without it.
		if n, k := nx.avail, e.key(&nx.entryState); n > 0 {
			if nx.start != sn {
				e.plan.c.releaseLater(k, n)
			} else if err := e.plan.c.ledger.ReleaseQuota(ctx, k, n); err != nil {
				e.plan.c.report(fmt.Errorf("quota: release %d of %v: %w", n, k, err))
				e.plan.c.releaseLater(k, n)
			}
		}
	}
	if s != nil {
		if n, k := e.avail.Swap(0), e.key(s); n > 0 {
			if !samePeriod {
				e.plan.c.releaseLater(k, n)
			} else if err := e.plan.c.ledger.ReleaseQuota(ctx, k, n); err != nil {
				e.plan.c.report(fmt.Errorf("quota: release %d of %v: %w", n, k, err))
				e.plan.c.releaseLater(k, n)
			}
		}
	}
	ns := p.state(start)
	e.lastTotal = -1
	e.low.Store(-1)
	e.state.Store(ns)
	return ns, nil
}

// reserve leases more of s's allowance from the ledger (e.mu held) and returns the grant.
func (e *Entry) reserve(ctx context.Context, s *entryState) (int64, error) {
	want, k := e.plan.c.leaseSize(s.allowance, e.lastTotal), e.key(s)
	g, total, err := e.plan.c.ledger.ReserveQuota(ctx, k, want, s.allowance)
	if err != nil {
		return 0, fmt.Errorf("quota: reserve %d of %v: %w", want, k, err)
	}
	e.lastTotal = total
	if g > 0 {
		// Refill ahead when a quarter of the grant is left; tiny grants near the limit are
		// not prefetched, so nodes do not hoard the last requests of a key.
		low := int64(-1)
		if g >= 4 {
			low = g / 4
		}
		e.low.Store(low)
		e.avail.Add(g)
	}
	return g, nil
}

// takeNext removes and returns the lease reserved ahead (nil if none) (e.mu held).
func (e *Entry) takeNext() *nextLease {
	nx := e.next
	e.next = nil
	e.hasNext.Store(false)
	return nx
}

// prepareNext reserves, ahead, a lease for the period that follows s (the entry's state when
// the rollover pass looked), so that the first requests after the boundary find it in hand. A
// lease already reserved, or a state that moved on, leaves it be.
func (e *Entry) prepareNext(ctx context.Context, s *entryState) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state.Load() != s || e.next != nil || e.plan.c.closed.Load() {
		return nil
	}
	start := time.Unix(0, s.end).UTC()
	allowance := s.policy.AllowanceAt(start)
	ns := &nextLease{entryState: entryState{
		policy:    s.policy,
		period:    s.period,
		start:     s.end,
		end:       PeriodEnd(s.period, start).UnixNano(),
		allowance: allowance,
	}}
	want, k := e.plan.c.leaseSize(allowance, -1), e.key(&ns.entryState)
	g, total, err := e.plan.c.ledger.ReserveQuota(ctx, k, want, allowance)
	if err != nil {
		return fmt.Errorf("quota: reserve %d of %v ahead: %w", want, k, err)
	}
	ns.avail, ns.total = g, total
	e.next = ns
	e.hasNext.Store(true)
	return nil
}

// releaseStaleNext gives back the lease reserved ahead when its period began at least idle ago
// and no request has taken it over: the key went quiet before the boundary.
func (e *Entry) releaseStaleNext(ctx context.Context, now time.Time, idle time.Duration) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	nx := e.next
	if nx == nil || now.UnixNano() < nx.start+int64(idle) {
		return nil
	}
	e.takeNext()
	if n, k := nx.avail, e.key(&nx.entryState); n > 0 {
		if err := e.plan.c.ledger.ReleaseQuota(ctx, k, n); err != nil {
			return fmt.Errorf("quota: idle release %d of %v: %w", n, k, err)
		}
	}
	return nil
}

// refillAhead is the background refill the low watermark asked for.
func (e *Entry) refillAhead(ctx context.Context) {
	defer e.pending.Store(false)
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.state.Load()
	if s == nil || e.plan.c.closed.Load() || e.avail.Load() > e.low.Load() {
		return
	}
	if _, err := e.reserve(ctx, s); err != nil {
		e.plan.c.report(err)
	}
}

// releaseIfUnchanged gives back the unused lease if it still holds exactly seen (idle release).
func (e *Entry) releaseIfUnchanged(ctx context.Context, seen int64) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.state.Load()
	if s == nil || !e.avail.CompareAndSwap(seen, 0) {
		return nil
	}
	e.lastTotal = -1
	k := e.key(s)
	if err := e.plan.c.ledger.ReleaseQuota(ctx, k, seen); err != nil {
		return fmt.Errorf("quota: idle release %d of %v: %w", seen, k, err)
	}
	return nil
}

// releaseAll gives back the unused lease (Close).
func (e *Entry) releaseAll(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.state.Load()
	if s == nil {
		return nil
	}
	var errs []error
	if n, k := e.avail.Swap(0), e.key(s); n > 0 {
		if err := e.plan.c.ledger.ReleaseQuota(ctx, k, n); err != nil {
			errs = append(errs, fmt.Errorf("quota: release %d of %v: %w", n, k, err))
		}
	}
	if nx := e.takeNext(); nx != nil && nx.avail > 0 {
		k := e.key(&nx.entryState)
		if err := e.plan.c.ledger.ReleaseQuota(ctx, k, nx.avail); err != nil {
			errs = append(errs, fmt.Errorf("quota: release %d of %v: %w", nx.avail, k, err))
		}
	}
	return errors.Join(errs...)
}
