package gcwindow

import (
	"runtime/debug"
	"testing"
)

func current() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// Overlapping windows restore the setting when the last closes, and a tighter setting or GC off
// is never loosened.
func TestWindows(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, tc := range []struct{ before, inside int }{{100, percent}, {400, percent}, {10, 10}, {-1, -1}} {
		debug.SetGCPercent(tc.before)
		a := Open()
		b := Open()
		if got := current(); got != tc.inside {
			t.Errorf("GOGC %d: inside two windows %d, want %d", tc.before, got, tc.inside)
		}
		a()
		a() // closing twice is closing once
		if got := current(); got != tc.inside {
			t.Errorf("GOGC %d: one window still open: %d, want %d", tc.before, got, tc.inside)
		}
		b()
		if got := current(); got != tc.before {
			t.Errorf("GOGC %d: after both closed %d", tc.before, got)
		}
	}
}
