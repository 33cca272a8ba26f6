package limit

import (
	"runtime"
	"testing"
	"time"
)

// TestBucketsShareLimits: buckets with the same limits hold one copy of them; a bucket
// reconfigured holds another, and the rest keep theirs.
func TestBucketsShareLimits(t *testing.T) {
	const now = int64(1e18)
	a, b, c := NewBucket(10, 5, now), NewBucket(10, 5, now+1), NewBucket(20, 5, now)
	if a.cur.Load().p != b.cur.Load().p {
		t.Error("two buckets of the same limits hold different copies of them")
	}
	if a.cur.Load().p == c.cur.Load().p {
		t.Error("buckets of different limits share them")
	}
	b.Configure(20, 5, now)
	if b.cur.Load().p != c.cur.Load().p || a.cur.Load().p.rate != 10 {
		t.Errorf("after reconfiguring one: %+v, %+v", *a.cur.Load().p, *b.cur.Load().p)
	}
	for i := range 5 {
		if !a.Allow(now) {
			t.Fatalf("request %d of a full bucket of 5 refused", i+1)
		}
	}
	if a.Allow(now) {
		t.Error("a sixth request admitted by a bucket of 5 at the same instant")
	}
	if r, bu := b.Limits(); r != 20 || bu != 5 {
		t.Errorf("Limits() = %v, %v", r, bu)
	}
}

// TestUnusedLimitsForgotten: limits no bucket holds any more leave the shared table, so a plan
// whose throttle is edited again and again does not grow it.
func TestUnusedLimitsForgotten(t *testing.T) {
	const now = int64(1e18)
	key := newParams(12345.5, 77, now)
	held := func() bool {
		interned.mu.Lock()
		defer interned.mu.Unlock()
		_, ok := interned.m[key]
		return ok
	}
	func() {
		b := NewBucket(12345.5, 77, now)
		if !held() {
			t.Fatalf("the limits %+v of a live bucket are not in the table", key)
		}
		b.Configure(12345.5, 78, now) // the first limits are now held by nothing
	}()
	for deadline := time.Now().Add(5 * time.Second); held(); {
		if time.Now().After(deadline) {
			t.Fatal("limits no bucket holds are still in the table")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}
