// Package gcwindow narrows the garbage collector's headroom while a bulk operation runs on a
// large heap. By default (GOGC=100) the heap may double before a collection, which is cheap for
// the data plane (it allocates nothing per request) but not for an import of 100,000 keys into a
// store of a million: the import's short-lived garbage then came on top of a 350 MB snapshot, and
// resident memory peaked at 2.05× what it is while serving. Inside a window the collector runs
// at a quarter of the live heap instead; outside, the operator's setting applies unchanged.
//
// The headroom never goes below minHeadroom: on a small heap a quarter is a few megabytes, and an
// import that collected every few megabytes spent half its CPU in the collector (a 100,000-key
// import on PostgreSQL, 30 MB live) to save memory nobody was short of. For that reason a window
// may also loosen a tight serving setting the server chose itself, up to AllowLooser's bound.
package gcwindow

import (
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

const (
	percent     = 25       // GOGC inside a window on a large heap
	minHeadroom = 64 << 20 // bytes the heap may grow by between collections, at least
)

var (
	mu      sync.Mutex
	depth   int // windows open
	prev    int // the setting to restore when the last one closes
	loosest int // a window may loosen the setting up to this (0: never looser)
)

// AllowLooser lets windows loosen the setting up to GOGC=n where the heap is small. The server
// calls it when it chose the serving setting itself (GOGC unset): that setting is tight because
// serving allocates next to nothing, not to make a bulk operation on a small heap collect every
// few megabytes. An operator's own GOGC is never loosened.
func AllowLooser(n int) {
	mu.Lock()
	loosest = n
	mu.Unlock()
}

// Open opens a window and returns the function that closes it (idempotent). Windows may overlap:
// the setting is restored when the last one closes. A setting already tighter (or GC off) is
// left as it is.
func Open() (close func()) {
	mu.Lock()
	if depth == 0 {
		// Read the setting by setting one (not -1: turning GC off waits for a running cycle).
		prev = debug.SetGCPercent(percent)
		debug.SetGCPercent(windowPercent(liveHeap(), prev, loosest))
	}
	depth++
	mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			if depth--; depth == 0 {
				debug.SetGCPercent(prev)
			}
		})
	}
}

// windowPercent is the GOGC for a window opened on a live heap of live bytes under the setting
// prev: a quarter of the heap but at least minHeadroom, and never looser than prev or loosest,
// whichever is looser (GC off, -1, stays off).
func windowPercent(live uint64, prev, loosest int) int {
	if prev < 0 || live == 0 {
		return prev
	}
	return min(max(percent, int(min(minHeadroom*100/live, 1<<20))), max(prev, loosest))
}

// liveHeap is the heap the last collection marked live (0 before the first).
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
