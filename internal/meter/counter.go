package meter

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/tollgate/tollgate/internal/apigw"
)

// KeyCounter counts one key's admitted requests in one plan. Add is safe for concurrent use.
// It is 32 bytes, one of a million keys in use: what it holds only while the store has been
// away for over a day (spilled counts) is in its Meter's spills, not here.
type KeyCounter struct {
	slot  *slot         // in the journal, or on the heap
	plan  *planCounters // its plan's: the Meter's one copy of the region and plan id
	keyID string
}

// The counter is made for every key in use: it must stay within the 32-byte size class (this
// fails to compile if it grows past it).
var _ [32 - unsafe.Sizeof(KeyCounter{})]byte

type dayCount struct{ day, n uint64 }

// spills holds the requests of counters whose day's half of the slot still held an older day
// the store lacked (it was unreachable for over a day): heap only, flushed like the rest.
type spills struct {
	mu     sync.Mutex
	any    atomic.Bool // counts is not empty: Flush and Pending skip the lock otherwise
	counts map[*KeyCounter][]dayCount
}

// KeyID is the id of the key counted.
func (k *KeyCounter) KeyID() string { return k.keyID }

// Counting reports whether a Meter counts k (false for a zero counter or one a nil Meter
// named): Add must be called only when it is true.
func (k *KeyCounter) Counting() bool { return k.slot != nil }

// Add counts one request admitted at now.
func (k *KeyCounter) Add(now time.Time) { k.AddN(now, 1) }

// AddN counts n requests admitted at now, on now's UTC day.
func (k *KeyCounter) AddN(now time.Time, n int64) {
	if n <= 0 {
		return
	}
	d := epochDay(now)
	if k.slot.add(d, uint64(n)) {
		return
	}
	// Off the hot path: only while the store has been away for a day.
	sp := &k.plan.m.spills
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.counts == nil {
		sp.counts = map[*KeyCounter][]dayCount{}
	}
	sp.counts[k] = append(sp.counts[k], dayCount{d, uint64(n)})
	sp.any.Store(true)
}

// drainSpills moves every spilled count out into emit.
func (m *Meter) drainSpills(emit func(k *KeyCounter, day, n uint64)) {
	sp := &m.spills
	if !sp.any.Load() {
		return
	}
	sp.mu.Lock()
	counts := sp.counts
	sp.counts = nil
	sp.any.Store(false)
	sp.mu.Unlock()
	for k, cs := range counts {
		for _, c := range cs {
			emit(k, c.day, c.n)
		}
	}
}

// peek reports the counts of k the store does not have yet, without moving them.
func (k *KeyCounter) peek(emit func(day, n uint64)) {
	for i := range k.slot.days {
		ds := &k.slot.days[i]
		w := ds.word.Load()
		if n := unflushed(w, ds.flushed.Load()); n > 0 {
			emit(w>>countBits, n)
		}
	}
	sp := &k.plan.m.spills
	if !sp.any.Load() {
		return
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for _, c := range sp.counts[k] {
		emit(c.day, c.n)
	}
}

// Flush gives every count the store lacks to the sink in one batch. On failure the counts stay
// (merged with later ones) and the next Flush writes them; nothing is dropped. Call it before
// reading the sink for a real-time GetUsage, and at shutdown.
//
// With a journal the batch is named by an epoch: each half it covers records the batch's
// target, the header records the epoch as pending, and the store records the epoch in the
// batch's own transaction. When the commit answers, the targets become the flushed marks. If it
// never answers (an error, or a crash), the next Flush or Open asks the store which way it went
// (resolve) before anything else: a batch is applied exactly once.
func (m *Meter) Flush(ctx context.Context) error {
	m.flushMu.Lock()
	defer m.flushMu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if err := m.resolve(ctx); err != nil {
		return fmt.Errorf("meter: flush: %w", err)
	}
	// One walk over every slot finds the halves with counts to send (the walk reads the slots in
	// file order and nothing else); the batch is then built from those alone, sized once. The
	// walk's lists start at the last batch's size, which a steady load repeats, rather than
	// grow by doubling (a small batch reuses the last one's buffers, see keepBatch).
	m.inflight, m.inflightOf = slices.Grow(m.inflight[:0], m.lastBatch), slices.Grow(m.inflightOf[:0], m.lastBatch)
	m.counters().each(func(k *KeyCounter, s *slot) {
		for i := range s.days {
			ds := &s.days[i]
			if unflushed(ds.word.Load(), ds.flushed.Load()) > 0 {
				m.inflight = append(m.inflight, ds)
				m.inflightOf = append(m.inflightOf, k)
			}
		}
	})
	m.lastBatch = len(m.inflight)
	deltas := slices.Grow(m.deltas[:0], len(m.inflight)+len(m.retry))
	for i, ds := range m.inflight {
		// Requests since the walk only add to the half: it still has counts to send.
		w := ds.word.Load()
		k := m.inflightOf[i]
		ds.target.Store(w)
		deltas = append(deltas, apigw.UsageDelta{Region: k.plan.ref.region, PlanID: k.plan.ref.planID, KeyID: k.keyID, Day: dayTime(w >> countBits), Count: int64(unflushed(w, ds.flushed.Load()))})
	}
	m.inflightOf = reuse(m.inflightOf)
	m.drainSpills(func(k *KeyCounter, day, n uint64) {
		m.retry[deltaKey{counterID{k.plan.ref.region, k.plan.ref.planID, k.keyID}, day}] += int64(n)
	})
	if len(deltas) == 0 && len(m.retry) == 0 {
		m.flushed.Store(time.Now().UnixNano())
		return nil
	}
	for dk, n := range m.retry {
		deltas = append(deltas, apigw.UsageDelta{Region: dk.region, PlanID: dk.planID, KeyID: dk.keyID, Day: dayTime(dk.day), Count: n})
	}
	// Sorted: deterministic batches, and rows in index order for the database.
	slices.SortFunc(deltas, func(a, b apigw.UsageDelta) int {
		return cmp.Or(cmp.Compare(a.Region, b.Region), cmp.Compare(a.PlanID, b.PlanID),
			a.Day.Compare(b.Day), cmp.Compare(a.KeyID, b.KeyID))
	})
	epoch := m.head.committed.Load() + 1
	m.head.pending.Store(epoch) // after every target: a crash from here on is settled by resolve
	var err error
	if js, ok := m.sink.(JournalSink); ok && m.journal != nil {
		err = js.CommitUsage(ctx, m.journal.name(), epoch, deltas)
	} else {
		err = m.sink.AddUsage(ctx, deltas)
	}
	n := len(deltas)
	m.deltas = reuse(deltas)
	if err != nil {
		if m.journal == nil {
			m.settle(false, false) // no store record to ask: a failed AddUsage applied nothing
		}
		return fmt.Errorf("meter: flush of %d deltas failed, kept for the next one: %w", n, err)
	}
	m.settle(true, false)
	m.flushed.Store(time.Now().UnixNano())
	return nil
}

// keepBatch is the largest batch whose buffers a flush keeps for the next one. A node with few
// keys in use reuses them; a node whose flushes carry many keys allocates them per flush rather
// than keeping the largest batch it ever sent for the life of the process: a delta is 80 bytes,
// so a flush of 10,000 keys kept 0.9 MB (a tenth of the live heap at 10,000 keys) and one of a
// million would keep 88 MB.
const keepBatch = 1024

// reuse returns b emptied for the next batch, or nil when it held more than keepBatch. Either
// way it no longer holds the pointers (id strings, slots) it held.
func reuse[T any](b []T) []T {
	if len(b) > keepBatch {
		return nil
	}
	clear(b)
	return b[:0]
}

// resolve settles a batch whose outcome is unknown (pending > committed) by asking the store
// for the journal's epoch.
func (m *Meter) resolve(ctx context.Context) error {
	pending := m.head.pending.Load()
	if pending == m.head.committed.Load() {
		return nil
	}
	js, ok := m.sink.(JournalSink)
	if !ok || m.journal == nil {
		m.settle(false, false)
		return nil
	}
	stored, err := js.UsageEpoch(ctx, m.journal.name())
	if err != nil {
		return err
	}
	m.settle(stored >= pending, false)
	return nil
}

// settle ends the pending batch: applied, its targets become the flushed marks and the
// heap-only counts it carried are done; not applied, both stay to be sent again. The batch's
// halves are those in inflight, or after a crash (scanFile) those of the journal file.
func (m *Meter) settle(applied, scanFile bool) {
	fix := func(ds *daySlot) {
		if t := ds.target.Load(); t != 0 {
			if applied {
				ds.flushed.Store(t)
			}
			ds.target.Store(0)
		}
	}
	for _, ds := range m.inflight {
		fix(ds)
	}
	m.inflight = reuse(m.inflight)
	if scanFile {
		m.journal.each(func(_ int, s *slot) {
			for i := range s.days {
				fix(&s.days[i])
			}
		})
	}
	if applied {
		clear(m.retry)
	}
	m.head.committed.Store(m.head.pending.Load())
}

// FlushedAt is when the sink last held every count (a Flush succeeded): the usage-flush lag is
// the time since.
func (m *Meter) FlushedAt() time.Time { return time.Unix(0, m.flushed.Load()) }

// Discard drops every count not yet written (the state reset of --allow-reset: usage of keys
// that no longer exist must not reach the store after it).
func (m *Meter) Discard() {
	m.flushMu.Lock()
	defer m.flushMu.Unlock()
	m.settle(false, false)
	m.counters().each(func(_ *KeyCounter, s *slot) {
		for i := range s.days {
			ds := &s.days[i]
			ds.flushed.Store(ds.word.Load())
		}
	})
	m.drainSpills(func(*KeyCounter, uint64, uint64) {})
	clear(m.retry)
}

// Pending returns the counts of a plan not yet written to the sink, per key id and UTC day, in
// the shape of store.Counters.Usage: sink usage plus Pending is the real-time usage.
func (m *Meter) Pending(region, planID string) map[string]map[time.Time]int64 {
	m.flushMu.Lock()
	defer m.flushMu.Unlock()
	out := map[string]map[time.Time]int64{}
	add := func(key string, day uint64, n int64) {
		if out[key] == nil {
			out[key] = map[time.Time]int64{}
		}
		out[key][dayTime(day)] += n
	}
	for dk, n := range m.retry {
		if dk.region == region && dk.planID == planID {
			add(dk.keyID, dk.day, n)
		}
	}
	ref := planRef{region, planID}
	m.counters().each(func(k *KeyCounter, _ *slot) {
		if k.plan.ref == ref {
			k.peek(func(day, n uint64) { add(k.keyID, day, int64(n)) })
		}
	})
	return out
}
