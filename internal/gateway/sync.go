package gateway

import (
	"context"
	"errors"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/gcwindow"
	"github.com/tollgate/tollgate/internal/quota"
	"github.com/tollgate/tollgate/internal/snapshot"
	"github.com/tollgate/tollgate/internal/store"
)

// Target receives compiled snapshots (the data-plane handler).
type Target interface {
	Swap(*snapshot.Snapshot)
}

// Syncer keeps the data plane's snapshot equal to the store's configuration.
type Syncer struct {
	Store    store.Store
	Counters store.Counters
	Throttle apigw.Throttle
	Target   Target
	// Binder attaches quota entries and usage counters to each new snapshot.
	Binder snapshot.Binder
	Now    func() time.Time
	// Resync is the period of the safety-net sync (default 1 minute; see Run).
	Resync time.Duration
	// OnSwap, if set, hears of every snapshot installed and how long loading and building it
	// took; OnError of every failed load (metrics).
	OnSwap  func(time.Duration)
	OnError func(error)

	mu   sync.Mutex // one rebuild at a time
	seq  int64      // change sequence of the installed snapshot
	ok   bool       // a snapshot is installed
	snap *snapshot.Snapshot
	// builtKeys is the key count of the last full build.
	builtKeys int
	// Incremental counts the changes applied without a full build (tests read it).
	Incremental atomic.Int64
}

// bigBuild is the key count from which a full build returns its garbage to the system at once.
const bigBuild = 100_000

// maxIncremental is the most change rows applied incrementally at once; more is a full build.
const maxIncremental = 256

// minIncrementalKeys is the most keys an incremental update reloads whatever the snapshot's
// size; beyond it, up to as many keys as the snapshot holds (an import into a region of a
// million keys is a delta: a full build would hold two snapshots at once).
const minIncrementalKeys = 4096

// writtenKeys is the most keys loadKeys reads on the embedded store's writer connection; more
// (an import's) are read on a reader, which does not hold up the writes queued meanwhile.
const writtenKeys = 256

// Sync rebuilds and installs the snapshot if the store changed since the last one. The
// management API calls it after every write, so a change (a disabled key, a detached plan) holds
// for the very next request.
func (s *Syncer) Sync(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq, err := s.currentSeq(ctx)
	if err != nil {
		return err
	}
	if s.ok && seq == s.seq {
		return nil
	}
	if s.ok {
		done, err := s.incremental(ctx)
		if err != nil && s.OnError != nil {
			s.OnError(err)
		}
		if done {
			return nil
		}
	}
	return s.rebuild(ctx)
}

// incremental applies the key writes since the installed snapshot to it in place, without a
// full build: API keys created, changed or deleted, and keys added to or removed from plans —
// the writes a service makes all day as customers sign up, and an import's keys, which the
// change log lists in one row. It reports false when the changes need a full build (anything
// else changed, too many changes, a store without an ordered change log, an update the snapshot
// cannot take).
func (s *Syncer) incremental(ctx context.Context) (bool, error) {
	cl, ok := s.Store.(store.ChangeLog)
	if !ok || s.snap == nil {
		return false, nil
	}
	changes, last, complete, err := cl.ChangesSince(ctx, s.seq, maxIncremental)
	if err != nil || !complete {
		return false, err
	}
	// An import into a region that holds fewer keys than it brings is a full build: count
	// before collecting.
	listed := 0
	for _, c := range changes {
		if c.Kind == store.KindApiKeys {
			listed += strings.Count(c.ID, "\n") + 1
		}
	}
	limit := max(minIncrementalKeys, s.snap.KeyCount())
	if listed > limit {
		return false, nil
	}
	keys := map[string][]string{} // region → key ids, in order, without repeats
	seen := map[[2]string]bool{}
	plans := map[[2]string]bool{} // region, plan id: plans written
	add := func(region, id string) {
		if !seen[[2]string{region, id}] {
			seen[[2]string{region, id}] = true
			keys[region] = append(keys[region], id)
		}
	}
	for _, c := range changes {
		switch c.Kind {
		case store.KindApiKey:
			add(c.Region, c.ID)
		case store.KindUsagePlanKey:
			_, id, _ := strings.Cut(c.ID, "/")
			add(c.Region, id)
		case store.KindApiKeys:
			for _, id := range store.SplitKeyIDs(c.ID) {
				add(c.Region, id)
			}
		case store.KindUsagePlan:
			plans[[2]string{c.Region, c.ID}] = true
		case store.KindAccount:
			// the account resource holds nothing the data plane enforces
		default:
			return false, nil
		}
	}
	if len(seen) > limit {
		return false, nil
	}
	// A plan written without a change the data plane enforces (its name, description, tags)
	// needs nothing; any other plan change is a full build.
	for rp := range plans {
		same, err := s.planUnchanged(ctx, rp[0], rp[1])
		if err != nil || !same {
			return false, err
		}
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	for region, ids := range keys {
		ups, err := s.loadKeys(ctx, region, ids, now())
		if err != nil {
			return false, err
		}
		if !s.snap.UpdateKeys(region, ups) {
			return false, nil
		}
	}
	s.seq = last
	s.Incremental.Add(int64(len(changes)))
	if len(seen) >= keyIndexPartMin {
		// An import's keys, read and applied: as after a large load, the store's connections
		// hand back what they read, and the runtime what reading and merging them left.
		if r, ok := s.Store.(store.MemoryReleaser); ok {
			r.ReleaseMemory(ctx)
		}
		go debug.FreeOSMemory()
	}
	return true, nil
}

// writtenViewer is a store that can read on the connection its writes go through (the embedded
// store's ViewWritten): loadKeys runs right after a write, and there its reads found the pages
// the write touched in that connection's cache, where a reader connection had just dropped its
// own (BenchmarkReadAfterWrite: 0.13–0.16 against 0.67–0.81 ms for one key at 100,000 keys).
type writtenViewer interface {
	ViewWritten(ctx context.Context, region string, fn func(store.Tx) error) error
}

// loadKeys reads what the snapshot needs of each key: its value's hash, whether it is enabled,
// its plans and its UpdateUsage allowances for their current periods. ids are distinct. The
// reads are batched (store.Tx.KeyIndexOf and the like), so that an import's 100,000 keys take
// a few hundred statements, not three for each key.
func (s *Syncer) loadKeys(ctx context.Context, region string, ids []string, now time.Time) ([]snapshot.KeyUpdate, error) {
	var ups []snapshot.KeyUpdate
	view := s.Store.View
	if w, ok := s.Store.(writtenViewer); ok && len(ids) <= writtenKeys {
		view = w.ViewWritten
	}
	// The reads take the ids in order: a batch then reaches the index pages of its own stretch of
	// ids, each page once across the batches, where batches of random ids each reached most of
	// the pages of a million keys' index (not in the reader's cache).
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	err := view(ctx, region, func(tx store.Tx) error {
		entries, err := tx.KeyIndexOf(sorted)
		if err != nil {
			return err
		}
		found := make(map[string]store.KeyIndexEntry, len(entries))
		for _, e := range entries {
			found[e.ID] = e
		}
		plansOf, err := tx.PlansOfKeys(sorted)
		if err != nil {
			return err
		}
		ups = make([]snapshot.KeyUpdate, 0, len(ids))
		members := map[string][]int{} // plan id → the updates of its keys
		for _, id := range ids {
			k, ok := found[id]
			if !ok {
				ups = append(ups, snapshot.KeyUpdate{ID: id, Deleted: true})
				continue
			}
			plans := plansOf[id]
			for _, p := range plans {
				members[p] = append(members[p], len(ups))
			}
			ups = append(ups, snapshot.KeyUpdate{ID: id, Hash: k.Hash, Enabled: k.Enabled, PlanIDs: plans})
		}
		if s.Counters == nil {
			return nil
		}
		// Each changed key's override in each of its plans with a quota, for the plan's current
		// period, read in the same transaction (on the embedded store, for a few keys, the
		// writer's connection, whose cache holds what the write touched: on a reader connection
		// these lookups were 7% of the server's CPU while 16 clients created keys).
		for p, idx := range members {
			up, err := tx.GetUsagePlan(p)
			if err != nil {
				return err
			}
			if up.Quota == nil {
				continue
			}
			start := quota.PeriodStart(up.Quota.Period, now)
			keyIDs := make([]string, len(idx))
			for i, u := range idx {
				keyIDs[i] = ups[u].ID
			}
			slices.Sort(keyIDs)
			allowances, err := tx.QuotaAllowances(p, keyIDs, start)
			if err != nil {
				return err
			}
			for _, u := range idx {
				if a, ok := allowances[ups[u].ID]; ok {
					if ups[u].Overrides == nil {
						ups[u].Overrides = map[string]snapshot.Override{}
					}
					ups[u].Overrides[p] = snapshot.Override{PeriodStart: start, Allowance: a}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ups, nil
}

// Rebuild rebuilds unconditionally (counters-only changes such as UpdateUsage overrides do not
// bump the configuration sequence).
func (s *Syncer) Rebuild(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rebuild(ctx)
}

func (s *Syncer) rebuild(ctx context.Context) error {
	start := time.Now()
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	if s.builtKeys >= bigBuild {
		// Two snapshots of this size are live at once until the swap: collect often while
		// building, since the garbage of loading is short-lived and the default headroom (the
		// heap doubling before a collection) would come on top of both.
		defer gcwindow.Open()()
	}
	in, err := Load(ctx, s.Store, s.Counters, s.Throttle, now())
	if err != nil {
		if s.OnError != nil {
			s.OnError(err)
		}
		return err
	}
	keys := 0
	for _, r := range in.Regions {
		keys += r.KeyCount() // before Build, which drops the key pages it copies
	}
	snap := snapshot.Build(in, s.Binder)
	s.Target.Swap(snap)
	s.seq, s.ok, s.snap = in.Seq, true, snap
	s.builtKeys = keys
	if keys >= bigBuild {
		// The previous snapshot is garbage now, as is everything loading this one took: at a
		// million keys some 400 MB that the runtime would otherwise keep mapped until its
		// scavenger gets round to it. Give it back now, off the caller's path.
		go debug.FreeOSMemory()
	}
	if s.OnSwap != nil {
		s.OnSwap(time.Since(start))
	}
	slog.Debug("data-plane snapshot installed", "seq", in.Seq, "took", time.Since(start))
	return nil
}

func (s *Syncer) currentSeq(ctx context.Context) (int64, error) {
	seq, _, err := changeSeq(ctx, s.Store)
	return seq, err
}

// Run keeps syncing until ctx ends: on every store change notification, and every Resync as a
// safety net. On a store whose change log orders commits the safety net is a Sync: comparing
// sequences catches a missed wake-up, and costs one query when nothing changed, where a full
// build at a million keys costs seconds of CPU and hundreds of MB of garbage every time.
// Elsewhere it is a full rebuild. Call Sync (or Rebuild) once before serving.
func (s *Syncer) Run(ctx context.Context) {
	var wake <-chan struct{}
	for {
		var err error
		if _, wake, err = s.Store.Changes(ctx); err == nil {
			break
		}
		slog.Error("subscribing to store changes; retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	every := s.Resync
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-wake:
			if !ok {
				return // the store closed
			}
			if err := s.Sync(ctx); err != nil && ctx.Err() == nil {
				slog.Error("rebuilding data-plane snapshot", "err", err)
			}
		case <-t.C:
			sync := s.Rebuild
			if _, ordered := s.Store.(store.ChangeLog); ordered {
				sync = s.Sync
			}
			if err := sync(ctx); err != nil && ctx.Err() == nil {
				slog.Error("rebuilding data-plane snapshot", "err", err)
			}
		}
	}
}

// planUnchanged reports whether the stored plan compiles as the snapshot's does.
func (s *Syncer) planUnchanged(ctx context.Context, region, id string) (bool, error) {
	cur, ok := s.snap.PlanSignature(region, id)
	if !ok {
		return false, nil
	}
	var sig string
	err := s.Store.View(ctx, region, func(tx store.Tx) error {
		p, err := tx.GetUsagePlan(id)
		if err != nil {
			return err
		}
		sig = snapshot.PlanSignature(p)
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil && sig == cur, err
}
