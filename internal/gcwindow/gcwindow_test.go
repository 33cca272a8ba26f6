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

// A window collects at a quarter of a large heap, lets a small heap grow by minHeadroom, and
// never loosens the setting beyond the server's allowance.
func TestWindowPercent(t *testing.T) {
	const mb = 1 << 20
	for _, tc := range []struct {
		live                uint64
		prev, loosest, want int
	}{
		{live: 400 * mb, prev: 100, want: 25},   // a million keys: a quarter
		{live: 256 * mb, prev: 100, want: 25},   // where a quarter is minHeadroom
		{live: 128 * mb, prev: 100, want: 50},   // 64 MB of headroom
		{live: 30 * mb, prev: 100, want: 100},   // small heap: the setting as it is
		{live: 30 * mb, prev: 400, want: 213},   // ... or 64 MB if the setting is looser
		{live: 400 * mb, prev: 10, want: 10},    // a tighter setting stays
		{live: 400 * mb, prev: -1, want: -1},    // GC off stays off
		{live: 0, prev: 100, want: 100},         // before the first collection
		{live: 1, prev: 1 << 30, want: 1 << 20}, // no overflow
		// The server's own tight serving setting, which windows may loosen up to 50.
		{live: 400 * mb, prev: 25, loosest: 50, want: 25}, // a quarter
		{live: 128 * mb, prev: 25, loosest: 50, want: 50}, // 64 MB of headroom
		{live: 30 * mb, prev: 25, loosest: 50, want: 50},  // small heap: the bound
		{live: 30 * mb, prev: 25, want: 25},               // not allowed: the setting
		{live: 30 * mb, prev: -1, loosest: 50, want: -1},  // GC off stays off
	} {
		if got := windowPercent(tc.live, tc.prev, tc.loosest); got != tc.want {
			t.Errorf("windowPercent(%d MB, %d, %d) = %d, want %d", tc.live/mb, tc.prev, tc.loosest, got, tc.want)
		}
	}
}

// Overlapping windows restore the setting when the last closes, and a tighter setting or GC off
// is never loosened.
func TestWindows(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, before := range []int{100, 400, 10, -1} {
		debug.SetGCPercent(before)
		want := windowPercent(liveHeap(), before, 0)
		a := Open()
		b := Open()
		if got := current(); got != want {
			t.Errorf("GOGC %d: inside two windows %d, want %d", before, got, want)
		}
		a()
		a() // closing twice is closing once
		if got := current(); got != want {
			t.Errorf("GOGC %d: one window still open: %d, want %d", before, got, want)
		}
		b()
		if got := current(); got != before {
			t.Errorf("GOGC %d: after both closed %d", before, got)
		}
	}
}
