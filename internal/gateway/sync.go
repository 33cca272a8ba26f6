package gateway

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
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
	// Resync is the period of the safety-net full rebuild (default 1 minute).
	Resync time.Duration
	// OnSwap, if set, hears of every snapshot installed and how long loading and building it
	// took; OnError of every failed load (metrics).
	OnSwap  func(time.Duration)
	OnError func(error)

	mu  sync.Mutex // one rebuild at a time
	seq int64      // change sequence of the installed snapshot
	ok  bool       // a snapshot is installed
}

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
	return s.rebuild(ctx)
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
	in, err := Load(ctx, s.Store, s.Counters, s.Throttle, now())
	if err != nil {
		if s.OnError != nil {
			s.OnError(err)
		}
		return err
	}
	snap := snapshot.Build(in, s.Binder)
	s.Target.Swap(snap)
	s.seq, s.ok = in.Seq, true
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
// safety net. Call Sync (or Rebuild) once before serving.
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
			if err := s.Rebuild(ctx); err != nil && ctx.Err() == nil {
				slog.Error("rebuilding data-plane snapshot", "err", err)
			}
		}
	}
}
