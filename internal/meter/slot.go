package meter

import (
	"sync/atomic"
	"unsafe"
)

// A slot is one counter's state: 64 bytes, in the journal file (see journal.go) or on the heap
// when there is none. It holds two days, indexed by the day's parity, so a rollover never moves
// counts: today's requests go to one half while the flusher finishes yesterday's in the other.
//
// Each half keeps running totals, never decremented:
//   - word: the day and how many requests were admitted on it;
//   - flushed: the day and how many of those the store holds;
//   - target: what flushed becomes when the batch in flight commits (0: none).
//
// Add touches only word. The flusher alone writes flushed and target. Because nothing is moved
// or reset by two parties, a process that dies at any instant leaves a file that says exactly
// what the store has and has not been given (see Meter.resolve for the batch in flight).
//
// The counter's name is not in the slot but in a name record of the file that the process
// writes once and never maps (journal.go): a slot of 128 bytes with its name in it was half of
// a million keys' usage counters in RSS.
type slot struct {
	days [2]daySlot
	// named is set once the slot's name record is written: the slot is in use.
	named atomic.Uint32
	_     [slotSize - 2*unsafe.Sizeof(daySlot{}) - 4]byte
}

type daySlot struct {
	word, flushed, target atomic.Uint64
}

const slotSize = 64

// The file layout depends on this size.
var _ [slotSize - unsafe.Sizeof(slot{})]byte
var _ [unsafe.Sizeof(slot{}) - slotSize]byte

// nameSize is the size of a name record: three length bytes (region, plan id, key id) and then
// the three strings, 61 bytes at most (longer names, which Tollgate's own ids never reach, are
// counted on the heap).
const nameSize = 64

// A word holds the day (days since the Unix epoch) in its high bits and a count in its low
// countBits bits: 2^40 requests a day per key cannot be reached.
const (
	countBits = 40
	countMask = 1<<countBits - 1
)

// unflushed is how many of word's requests flushed does not cover.
func unflushed(w, f uint64) uint64 {
	c := w & countMask
	if f>>countBits != w>>countBits {
		return c
	}
	return c - min(f&countMask, c)
}

// add counts n requests on day d. It reports false when d's half still holds an older day the
// store has not been given in full (the store has been unreachable for over a day): the caller
// keeps those requests on the heap instead.
func (s *slot) add(d, n uint64) bool {
	ds := &s.days[d&1]
	for {
		w := ds.word.Load()
		wd := w >> countBits
		if wd >= d {
			// d, or a clock read two days stale: counted on the half's day.
			if ds.word.CompareAndSwap(w, w+n) {
				return true
			}
			continue
		}
		// The half holds an older day: reuse it once the store has all of that day. Only the
		// flusher moves flushed, and only towards word, so the check cannot go stale.
		if unflushed(w, ds.flushed.Load()) != 0 {
			return false
		}
		if ds.word.CompareAndSwap(w, d<<countBits|n) {
			return true
		}
	}
}

// encodeID writes a counter's name into a name record b (nameSize bytes); false if it does not
// fit.
func encodeID(b []byte, id counterID) bool {
	if len(id.region)+len(id.planID)+len(id.keyID) > len(b)-3 || !idString(id.region) || !idString(id.planID) || !idString(id.keyID) {
		return false
	}
	clear(b)
	b[0], b[1], b[2] = byte(len(id.region)), byte(len(id.planID)), byte(len(id.keyID))
	n := 3
	n += copy(b[n:], id.region)
	n += copy(b[n:], id.planID)
	copy(b[n:], id.keyID)
	return true
}

// decodeID reads the name a record holds: false for one that does not hold a name Tollgate
// could have written (unused, torn or foreign).
func decodeID(b []byte) (counterID, bool) {
	if len(b) < 3 {
		return counterID{}, false
	}
	lr, lp, lk := int(b[0]), int(b[1]), int(b[2])
	if lr == 0 || lp == 0 || lk == 0 || lr+lp+lk > len(b)-3 {
		return counterID{}, false
	}
	rest := b[3 : 3+lr+lp+lk]
	for _, c := range rest {
		if !idByte(c) {
			return counterID{}, false
		}
	}
	for _, c := range b[3+lr+lp+lk:] {
		if c != 0 {
			return counterID{}, false
		}
	}
	return counterID{region: string(rest[:lr]), planID: string(rest[lr : lr+lp]), keyID: string(rest[lr+lp:])}, true
}

// idString reports whether decodeID can read s back.
func idString(s string) bool {
	for i := range len(s) {
		if !idByte(s[i]) {
			return false
		}
	}
	return s != ""
}

// idByte reports whether c can appear in a region, plan id or key id.
func idByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}
