package sqlstore

import (
	"context"
	"sync"
	"sync/atomic"
)

// Gate lets a store's Close wait for every call that got in before it and refuse the calls
// after it. The zero value is open.
type Gate struct {
	// mu makes "check closed, then register in inflight" atomic with Close's "set closed".
	mu       sync.RWMutex
	closed   bool
	inflight sync.WaitGroup
}

// Enter registers a call so Close waits for it; the returned func ends it. After Close it
// returns closedErr.
func (g *Gate) Enter(closedErr error) (func(), error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return nil, closedErr
	}
	g.inflight.Add(1)
	return g.inflight.Done, nil
}

// Close refuses new calls and waits for those in progress. It reports false when the gate was
// closed already (the caller then has nothing left to release).
func (g *Gate) Close() bool {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return false
	}
	g.closed = true
	g.mu.Unlock()
	g.inflight.Wait()
	return true
}

// Feed is a store's change sequence and the channels of its Changes subscribers. Wake-ups are
// coalesced: each channel has a buffer of one and a send never blocks, because a pending
// wake-up already tells the subscriber to look at the newest state.
type Feed struct {
	seq       atomic.Int64 // newest change sequence seen committed
	closedErr error

	mu   sync.Mutex
	subs map[chan struct{}]struct{} // nil once closed
	done chan struct{}              // closed by Close: ends the watchers of subscribers' contexts
}

// NewFeed returns an open feed at sequence 0; Subscribe returns closedErr after Close.
func NewFeed(closedErr error) *Feed {
	return &Feed{closedErr: closedErr, subs: map[chan struct{}]struct{}{}, done: make(chan struct{})}
}

// Seq returns the newest change sequence observed.
func (f *Feed) Seq() int64 { return f.seq.Load() }

// Subscribe implements store.Store.Changes: the current sequence and a channel woken after each
// newer one, closed when ctx ends or the feed closes.
func (f *Feed) Subscribe(ctx context.Context) (int64, <-chan struct{}, error) {
	ch := make(chan struct{}, 1)
	f.mu.Lock()
	if f.subs == nil {
		f.mu.Unlock()
		return 0, nil, f.closedErr
	}
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
			f.unsubscribe(ch)
		case <-f.done: // Close closes ch
		}
	}()
	return f.seq.Load(), ch, nil
}

func (f *Feed) unsubscribe(ch chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.subs[ch]; ok {
		delete(f.subs, ch)
		close(ch)
	}
}

// Observe records a committed change sequence and, if it is newer than any seen, wakes the
// subscribers. Several paths may report the same change (a commit, a notification, a poll);
// only the first wakes anyone.
func (f *Feed) Observe(seq int64) {
	for {
		cur := f.seq.Load()
		if seq <= cur {
			return
		}
		if f.seq.CompareAndSwap(cur, seq) {
			break
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- struct{}{}:
		default: // a wake-up is already pending; the subscriber will see this change too
		}
	}
}

// Close closes every subscriber's channel and refuses new subscribers.
func (f *Feed) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.subs == nil {
		return
	}
	close(f.done)
	for ch := range f.subs {
		close(ch)
	}
	f.subs = nil
}
