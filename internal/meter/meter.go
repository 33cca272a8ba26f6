// Package meter counts admitted requests per (region, plan, key) and UTC day — the figures
// GetUsage reports (spec §3.10) — without slowing the request down: Add is one CAS on a word
// packing the day and the count, with no lock and no allocation. A background flusher (Run)
// moves the counts to the durable Sink every interval; a failed flush keeps them for the next
// attempt, so nothing admitted is lost while the process lives.
//
// The data plane sees only its KeyCounters (through snapshot.UsageCounter), never this package's
// store side, so meter may speak store types.
package meter

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/internal/store"
)

// Sink is where counts go; store.Counters is one.
type Sink interface {
	// AddUsage adds deltas in one transaction.
	AddUsage(ctx context.Context, deltas []store.UsageDelta) error
}

// A word holds the day (days since the Unix epoch) in its high bits and the count not yet
// flushed in its low countBits bits: 2^40 requests per flush interval cannot be reached.
const (
	countBits = 40
	countMask = 1<<countBits - 1
	dayNanos  = int64(24 * time.Hour)
)

// epochDay returns the UTC day of now as days since 1970-01-01 (0 before it).
func epochDay(now time.Time) uint64 {
	return uint64(max(now.UnixNano()/dayNanos, 0))
}

func dayTime(d uint64) time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// Options tune a Meter.
type Options struct {
	// Interval between background flushes (default 1s).
	Interval time.Duration
	// Timeout bounds one background flush (default 10s).
	Timeout time.Duration
	// OnError receives background flush failures (the counts are kept and retried). Optional.
	OnError func(error)
}

// Meter is the registry of KeyCounters of one node. Run flushes it in the background; Flush
// writes on demand (real-time GetUsage, shutdown).
type Meter struct {
	sink Sink
	opt  Options

	mu     sync.Mutex
	byKey  map[counterID]*KeyCounter
	byPlan map[planRef][]*KeyCounter
	all    []*KeyCounter

	// flushMu serialises Flush and Pending, so Pending never sees a batch that is neither in
	// the counters nor in the sink; retry holds the deltas of failed flushes.
	flushMu sync.Mutex
	retry   map[deltaKey]int64
	deltas  []store.UsageDelta // Flush's batch, kept for the next one (guarded by flushMu)

	newTicker func(time.Duration) (<-chan time.Time, func()) // injected by tests
	flushed   atomic.Int64                                   // Unix ns of the last successful Flush
}

type planRef struct{ region, planID string }

type counterID struct{ region, planID, keyID string }

type deltaKey struct {
	counterID
	day uint64
}

// New returns a Meter writing to sink.
func New(sink Sink, opt Options) *Meter {
	if opt.Interval <= 0 {
		opt.Interval = time.Second
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	m := &Meter{
		sink:   sink,
		opt:    opt,
		byKey:  map[counterID]*KeyCounter{},
		byPlan: map[planRef][]*KeyCounter{},
		retry:  map[deltaKey]int64{},
		newTicker: func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		},
	}
	m.flushed.Store(time.Now().UnixNano())
	return m
}

// Counter returns the counter of a key in a plan, creating it. The pointer is stable for the
// Meter's lifetime: bind it once per snapshot and call Add per request.
func (m *Meter) Counter(region, planID, keyID string) *KeyCounter {
	id := counterID{region, planID, keyID}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := m.byKey[id]
	if k == nil {
		k = &KeyCounter{id: id}
		m.byKey[id] = k
		p := planRef{region, planID}
		m.byPlan[p] = append(m.byPlan[p], k)
		m.all = append(m.all, k)
	}
	return k
}

// Run flushes every Interval until ctx ends (one goroutine per Meter). It does not flush on the
// way out, ctx being done by then: at shutdown call Flush with a fresh context after Run
// returns (or after cancelling it — a flush cut short by the cancellation keeps its counts for
// that last Flush).
func (m *Meter) Run(ctx context.Context) {
	tick, stop := m.newTicker(m.opt.Interval)
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			fctx, cancel := context.WithTimeout(ctx, m.opt.Timeout)
			if err := m.Flush(fctx); err != nil && m.opt.OnError != nil {
				m.opt.OnError(err)
			}
			cancel()
		}
	}
}
