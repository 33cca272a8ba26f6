// Package meter counts admitted requests per (region, plan, key) and UTC day — the figures
// GetUsage reports (spec §3.10) — without slowing the request down: Add is one CAS on a word
// packing the day and the count, with no lock and no allocation. A background flusher (Run)
// gives the counts to the durable Sink every interval; a failed flush keeps them for the next
// attempt, so nothing admitted is lost while the process lives.
//
// With a journal (Open), the counters live in a memory-mapped file in the data directory, so
// nothing admitted is lost when the process dies either: a restart flushes what the file holds
// before serving, and each flush names its batch with an epoch the store records in the same
// transaction, so a batch is never applied twice (see journal.go and slot.go).
//
// The data plane holds its KeyCounters inside its key states (snapshot imports this package),
// so meter depends on the domain package only: its Sink takes apigw.UsageDelta, which is
// store.UsageDelta, and the store side of a flush stays behind the Sink interface.
package meter

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/tollgate/tollgate/internal/apigw"
)

// Sink is where counts go; store.Counters is one.
type Sink interface {
	// AddUsage adds deltas in one transaction.
	AddUsage(ctx context.Context, deltas []apigw.UsageDelta) error
}

// JournalSink is a Sink that records, with each batch, which batch of which journal it was
// (store.Counters is one).
type JournalSink interface {
	Sink
	CommitUsage(ctx context.Context, journal string, epoch uint64, deltas []apigw.UsageDelta) error
	UsageEpoch(ctx context.Context, journal string) (uint64, error)
}

const dayNanos = int64(24 * time.Hour)

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
	sink    Sink
	opt     Options
	journal *journal // nil: counters on the heap
	head    *header  // the journal's, or a heap one

	// The counters, append-only. There is no index by ids: the caller keeps each counter it
	// makes (see Init). Those whose slot is in the journal are listed by the slot's index, one
	// array of owners a chunk of the file, so that a flush reads the slots in file order and
	// looks at a counter only when its slot has counts to send: at a million keys in use,
	// walking the counters themselves, one per key state scattered over the heap, made each
	// flush (and so each real-time GetUsage) wait on a cache miss a key. The others, on the
	// heap, are in a list. byPlan gives each plan's counters its one copy of the ids.
	mu     sync.Mutex
	byPlan map[planRef]*planCounters
	owners [][]*KeyCounter // owners[c][o] counts in journal slot c*chunkSlots+o (nil: none)
	hi     int             // 1 + the highest journal slot index with an owner
	onHeap []*KeyCounter
	n      int // counters in all

	spills spills

	// flushMu serialises Flush, Discard and Pending, so Pending never sees a batch both in the
	// counters and in the sink. The fields below it are the flusher's.
	flushMu    sync.Mutex
	retry      map[deltaKey]int64 // counts that live only on the heap (see spills)
	deltas     []apigw.UsageDelta // the batch being built, reused
	inflight   []*daySlot         // the halves whose target the batch sets
	inflightOf []*KeyCounter      // the counter of each of them, while the batch is built
	lastBatch  int                // how many halves the last flush found to send

	closed    bool                                           // Close ran (guarded by flushMu)
	newTicker func(time.Duration) (<-chan time.Time, func()) // injected by tests
	flushed   atomic.Int64                                   // Unix ns of the last successful Flush
}

type planRef struct{ region, planID string }

// planCounters is what a plan's counters share. Each counter points at it rather than holding
// the two strings (8 bytes a key in use instead of 32), and reaches its Meter through it.
type planCounters struct {
	ref planRef
	m   *Meter
}

type counterID struct{ region, planID, keyID string }

// counterView is the counters registered when it was taken, to walk outside the lock: owner
// entries below hi and the heap list's prefix never change once set (journal slots are handed
// out in order, and the ones a recovery registers are registered before anything else runs).
type counterView struct {
	chunks   [][]byte // the journal's mapped chunks (nil: no journal)
	slotSize int
	owners   [][]*KeyCounter
	hi       int
	onHeap   []*KeyCounter
}

// counters returns the counters registered so far.
func (m *Meter) counters() counterView {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := counterView{owners: m.owners, hi: m.hi, onHeap: m.onHeap}
	if j := m.journal; j != nil {
		v.chunks, v.slotSize = j.chunks, j.slotBytes()
	}
	return v
}

// each calls fn with every counter of the view and its slot: the journal's in file order,
// found from the slot's index so that fn can read the slot without touching the counter.
func (v counterView) each(fn func(k *KeyCounter, s *slot)) {
	for c, own := range v.owners {
		if own == nil {
			continue
		}
		chunk := v.chunks[c]
		for o, k := range own[:min(chunkSlots, v.hi-c*chunkSlots)] {
			if k != nil {
				fn(k, (*slot)(unsafe.Pointer(&chunk[o*v.slotSize])))
			}
		}
	}
	for _, k := range v.onHeap {
		fn(k, k.slot)
	}
}

type deltaKey struct {
	counterID
	day uint64
}

// New returns a Meter writing to sink, with its counters on the heap: they last as long as the
// process. Open gives them a journal.
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
		head:   &header{},
		byPlan: map[planRef]*planCounters{},
		retry:  map[deltaKey]int64{},
		newTicker: func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		},
	}
	m.flushed.Store(time.Now().UnixNano())
	return m
}

// Recovery is what Open found in the journal.
type Recovery struct {
	// Counters and Requests are the counters the journal held and the requests among them the
	// store had not been given; Open has flushed them.
	Counters int
	Requests int64
	// Discarded says why the journal's counts were not used ("" when they were).
	Discarded string
}

// Open returns a Meter whose counters live in the journal file at path (created if missing).
// First it recovers what a previous process left there: it settles the batch that process had
// in flight, flushes every count the store lacks, and starts a fresh file. If that flush
// fails, the Meter is returned with the error and keeps the old file's counters, flushing them
// with the rest. On systems without the journal it returns a heap Meter and
// errors.ErrUnsupported.
func Open(ctx context.Context, sink JournalSink, path string, opt Options) (*Meter, Recovery, error) {
	m := New(sink, opt)
	if !journalSupported {
		return m, Recovery{}, errors.ErrUnsupported
	}
	var rec Recovery
	j, err := openJournal(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		j, err = createJournal(path)
		if err != nil {
			return nil, rec, err
		}
		m.attach(j)
		return m, rec, nil
	case err != nil:
		// Not ours, or torn beyond reading: keep it for a person to look at and start afresh.
		aside := fmt.Sprintf("%s.unreadable-%d", path, time.Now().Unix())
		if rerr := os.Rename(path, aside); rerr != nil {
			return nil, rec, errors.Join(err, rerr)
		}
		rec.Discarded = fmt.Sprintf("%v (moved to %s)", err, aside)
		j, err = createJournal(path)
		if err != nil {
			return nil, rec, err
		}
		m.attach(j)
		return m, rec, nil
	}
	m.attach(j)
	if !j.sameBoot() {
		rec.Discarded = "the journal was written before the machine last booted"
	} else {
		stored, err := sink.UsageEpoch(ctx, j.name())
		if err != nil {
			j.close()
			return nil, rec, fmt.Errorf("meter: usage journal: %w", err)
		}
		if pending := m.head.pending.Load(); stored > pending {
			rec.Discarded = "the store has batches of this journal it does not know of (a copy of an older file?)"
		} else {
			m.settle(stored == pending, true)
			j.each(func(at int, s *slot) {
				var n uint64
				for i := range s.days {
					n += unflushed(s.days[i].word.Load(), s.days[i].flushed.Load())
				}
				if n > 0 {
					id, ok := j.getID(at)
					if !ok {
						return // a torn record: its counts cannot be attributed
					}
					m.register(id, s, at)
					rec.Counters++
					rec.Requests += int64(n)
				}
			})
			if err := m.Flush(ctx); err != nil {
				return m, rec, fmt.Errorf("meter: flushing the usage journal's %d requests: %w", rec.Requests, err)
			}
		}
	}
	// Everything the old file held is in the store, or not to be trusted: start a new file,
	// under a new name, so that a copy of the old one can never pass for this one.
	j.close()
	nj, err := createJournal(path)
	if err != nil {
		return nil, rec, err
	}
	m.mu.Lock()
	clear(m.byPlan)
	m.owners, m.hi, m.onHeap, m.n = nil, 0, nil, 0
	m.mu.Unlock()
	m.attach(nj)
	return m, rec, nil
}

// attach makes j the Meter's journal.
func (m *Meter) attach(j *journal) {
	m.journal, m.head = j, j.head
}

// Close ends the Meter after its final Flush: later Flushes fail and write nothing. The
// journal's file is closed but its mapping stays until the process exits, so that an Add from a
// request still finishing, or a background flush racing the shutdown, cannot fault on memory
// that is gone (what they count is lost, as anything counted after the final flush is).
func (m *Meter) Close() error {
	m.flushMu.Lock()
	defer m.flushMu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	if m.journal == nil {
		return nil
	}
	return m.journal.f.Close()
}

// ErrClosed is returned by a Flush after Close.
var ErrClosed = errors.New("meter: closed")

// Counter creates the counter of a key in a plan (see Init); tests and tools use it, the data
// plane keeps its counters inside its own key state.
func (m *Meter) Counter(region, planID, keyID string) *KeyCounter {
	k := new(KeyCounter)
	m.Init(k, region, planID, keyID)
	return k
}

// Init makes k, a zero KeyCounter in memory the caller keeps for the Meter's lifetime, the
// counter of a key in a plan. The data plane's key state holds one per key and plan inside
// itself (snapshot.KeyStates), so a key in use costs no separate object, and calls Add per
// request. The Meter keeps no index by ids, which at a million keys in use cost as much as the
// counters; two counters of one key would both be flushed, adding up.
//
// A nil Meter only names k: it holds keyID and counts nothing (Counting reports false).
func (m *Meter) Init(k *KeyCounter, region, planID, keyID string) {
	if m == nil {
		*k = KeyCounter{keyID: keyID}
		return
	}
	id := counterID{region, planID, keyID}
	m.mu.Lock()
	defer m.mu.Unlock()
	// A version-1 journal is only recovered from (its flush failed at Open, which said so):
	// new counters stay on the heap until the next start.
	if m.journal != nil && !m.journal.v1 {
		at, err := m.journal.alloc(id)
		if err == nil {
			m.registerLocked(k, id, m.journal.slotAt(at), at)
			return
		}
		if m.opt.OnError != nil {
			m.opt.OnError(fmt.Errorf("%w; this key's usage is counted in memory only", err))
		}
	}
	m.registerLocked(k, id, &slot{}, -1)
}

// Counters returns how many counters the Meter counts in (one per key and plan in use, plus
// any a journal brought back).
func (m *Meter) Counters() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n
}

// register adds a counter the journal held at Open, in its slot at.
func (m *Meter) register(id counterID, s *slot, at int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.registerLocked(new(KeyCounter), id, s, at) // a torn file may name a counter twice: both are flushed
}

// registerLocked makes k the counter of id in slot s: journal slot at, or one on the heap
// (at < 0).
func (m *Meter) registerLocked(k *KeyCounter, id counterID, s *slot, at int) {
	ref := planRef{id.region, id.planID}
	pc := m.byPlan[ref]
	if pc == nil {
		pc = &planCounters{ref: ref, m: m}
		m.byPlan[ref] = pc
	}
	*k = KeyCounter{slot: s, plan: pc, keyID: id.keyID}
	m.n++
	if at < 0 {
		m.onHeap = append(m.onHeap, k)
		return
	}
	c := at / chunkSlots
	for len(m.owners) <= c {
		m.owners = append(m.owners, nil)
	}
	if m.owners[c] == nil {
		m.owners[c] = make([]*KeyCounter, chunkSlots)
	}
	m.owners[c][at%chunkSlots] = k
	m.hi = max(m.hi, at+1)
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
