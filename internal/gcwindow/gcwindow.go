// Package gcwindow narrows the garbage collector's headroom while a bulk operation runs. By
// default (GOGC=100) the heap may double before a collection, which is cheap for the data plane
// (it allocates nothing per request) but not for an import of 100,000 keys into a store of a
// million: the import's short-lived garbage then came on top of a 350 MB snapshot, and resident
// memory peaked at 2.05× what it is while serving. Inside a window the collector runs at a
// quarter of the live heap instead; outside, the operator's setting applies unchanged.
package gcwindow

import (
	"runtime/debug"
	"sync"
)

// percent is the GOGC inside a window.
const percent = 25

var (
	mu    sync.Mutex
	depth int // windows open
	prev  int // the setting to restore when the last one closes
)

// Open opens a window and returns the function that closes it (idempotent). Windows may overlap:
// the setting is restored when the last one closes. A setting already tighter (or GC off) is
// left as it is.
func Open() (close func()) {
	mu.Lock()
	if depth == 0 {
		prev = debug.SetGCPercent(percent)
		if prev >= 0 && prev < percent || prev < 0 {
			debug.SetGCPercent(prev) // the operator's choice is tighter, or GC is off: keep it
		}
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
