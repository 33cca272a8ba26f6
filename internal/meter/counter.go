package meter

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/internal/store"
)

// KeyCounter counts one key's admitted requests in one plan. Add is safe for concurrent use.
type KeyCounter struct {
	// word packs the current day and its unflushed count (see countBits). Add moves it to a new
	// day with one CAS and hands the previous day's count to spill.
	word atomic.Uint64
	id   counterID

	hasSpill atomic.Bool // spill is non-empty: lets Flush skip the lock of idle counters
	mu       sync.Mutex  // guards spill
	spill    []dayCount  // counts of past days moved out by a rollover, not yet flushed
}

type dayCount struct{ day, n uint64 }

// Add counts one request admitted at now.
func (k *KeyCounter) Add(now time.Time) { k.AddN(now, 1) }

// AddN counts n requests admitted at now. A now older than the day already being counted (a
// caller's clock read just before midnight) is counted in the current day.
func (k *KeyCounter) AddN(now time.Time, n int64) {
	if n <= 0 {
		return
	}
	d := epochDay(now)
	for {
		w := k.word.Load()
		if wd := w >> countBits; d > wd {
			if k.word.CompareAndSwap(w, d<<countBits|uint64(n)) {
				if c := w & countMask; c > 0 {
					k.spillDay(wd, c) // once per key per day: a lock here is off the hot path
				}
				return
			}
			continue
		}
		if k.word.CompareAndSwap(w, w+uint64(n)) {
			return
		}
	}
}

func (k *KeyCounter) spillDay(day, n uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.spill = append(k.spill, dayCount{day, n})
	k.hasSpill.Store(true)
}

// drain moves the unflushed counts out of k into emit.
func (k *KeyCounter) drain(emit func(day, n uint64)) {
	for {
		w := k.word.Load()
		c := w & countMask
		if c == 0 {
			break
		}
		if k.word.CompareAndSwap(w, w&^countMask) {
			emit(w>>countBits, c)
			break
		}
	}
	if !k.hasSpill.Load() {
		return
	}
	k.mu.Lock()
	spill := k.spill
	k.spill = nil
	k.hasSpill.Store(false)
	k.mu.Unlock()
	for _, s := range spill {
		emit(s.day, s.n)
	}
}

// peek reports the unflushed counts of k without moving them.
func (k *KeyCounter) peek(emit func(day, n uint64)) {
	if w := k.word.Load(); w&countMask > 0 {
		emit(w>>countBits, w&countMask)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, s := range k.spill {
		emit(s.day, s.n)
	}
}

// Flush writes every unflushed count to the sink in one AddUsage call. On failure the counts
// stay pending (merged with later ones) and the next Flush writes them; nothing is dropped. Call
// it before reading the sink for a real-time GetUsage, and at shutdown (Close does).
func (m *Meter) Flush(ctx context.Context) error {
	m.flushMu.Lock()
	defer m.flushMu.Unlock()
	m.mu.Lock()
	all := m.all // append-only: this prefix never changes
	m.mu.Unlock()
	for _, k := range all {
		k.drain(func(day, n uint64) { m.retry[deltaKey{k.id, day}] += int64(n) })
	}
	if len(m.retry) == 0 {
		m.flushed.Store(time.Now().UnixNano())
		return nil
	}
	deltas := m.deltas[:0] // reused: a busy node flushes a delta per key every interval
	for dk, n := range m.retry {
		deltas = append(deltas, store.UsageDelta{Region: dk.region, PlanID: dk.planID, KeyID: dk.keyID, Day: dayTime(dk.day), Count: n})
	}
	// Sorted: deterministic batches, and rows in index order for the database.
	slices.SortFunc(deltas, func(a, b store.UsageDelta) int {
		return cmp.Or(cmp.Compare(a.Region, b.Region), cmp.Compare(a.PlanID, b.PlanID),
			a.Day.Compare(b.Day), cmp.Compare(a.KeyID, b.KeyID))
	})
	err := m.sink.AddUsage(ctx, deltas)
	clear(deltas) // drop the id strings it holds until the next flush
	m.deltas = deltas[:0]
	if err != nil {
		return fmt.Errorf("meter: flush of %d deltas failed, kept for the next one: %w", len(deltas), err)
	}
	clear(m.retry)
	m.flushed.Store(time.Now().UnixNano())
	return nil
}

// FlushedAt is when the sink last held every count (a Flush succeeded): the usage-flush lag is
// the time since.
func (m *Meter) FlushedAt() time.Time { return time.Unix(0, m.flushed.Load()) }

// Discard drops every count not yet written (the state reset of --allow-reset: usage of keys
// that no longer exist must not reach the store after it).
func (m *Meter) Discard() {
	m.flushMu.Lock()
	defer m.flushMu.Unlock()
	m.mu.Lock()
	all := m.all
	m.mu.Unlock()
	for _, k := range all {
		k.drain(func(uint64, uint64) {})
	}
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
	m.mu.Lock()
	ks := m.byPlan[planRef{region, planID}]
	m.mu.Unlock()
	for _, k := range ks {
		k.peek(func(day, n uint64) { add(k.id.keyID, day, int64(n)) })
	}
	return out
}
