package snapshot

import (
	"fmt"
	"sync"
	"testing"
)

// The table finds every state it made, by plan and key id, through its growth, and makes one
// state per (region, plan, key) however many goroutines ask for it at once.
func TestKeyStatesTable(t *testing.T) {
	tbl := NewKeyStates()
	const keys = 5000
	plans := []struct{ region, plan string }{{"us-east-1", "p1"}, {"us-east-1", "p2"}, {"eu-west-1", "p1"}}
	made := make([]map[string]*keyState, len(plans))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 4 { // four goroutines asking for every state
		wg.Go(func() {
			for i := range keys {
				for j, p := range plans {
					id := fmt.Sprint("key", i)
					st := tbl.get(nil, p.region, p.plan, id)
					mu.Lock()
					if made[j] == nil {
						made[j] = map[string]*keyState{}
					}
					if prev, ok := made[j][id]; ok && prev != st {
						t.Errorf("%s/%s/%s: two states", p.region, p.plan, id)
					}
					made[j][id] = st
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if n := tbl.Len(); n != keys*len(plans) {
		t.Fatalf("Len %d, want %d", n, keys*len(plans))
	}
	seen := map[*keyState]bool{}
	for j, p := range plans {
		for i := range keys {
			id := fmt.Sprint("key", i)
			st := tbl.get(nil, p.region, p.plan, id)
			if st != made[j][id] || st.usage.KeyID() != id {
				t.Fatalf("%s/%s/%s: found %p (%q), made %p", p.region, p.plan, id, st, st.usage.KeyID(), made[j][id])
			}
			if seen[st] {
				t.Fatalf("%s/%s/%s shares its state", p.region, p.plan, id)
			}
			seen[st] = true
		}
	}
	for i := range tbl.shards {
		if sh := &tbl.shards[i]; sh.n*4 > len(sh.slots)*3 {
			t.Errorf("shard %d: %d states in %d slots", i, sh.n, len(sh.slots))
		}
	}
}

// States whose hashes land on the same slot are each found, before and after the table grows:
// the probe passes states of other keys (or of the same key in another plan) and stops only at
// an empty slot.
func TestKeyStatesCollide(t *testing.T) {
	var sh stateShard
	var states []*keyState
	for i := range 20 { // 16 slots, then 32: the 13th insert grows the table
		st := newKeyState(nil, "us-east-1", "p", fmt.Sprint("k", i/2))
		st.hash, st.plan = 5+16*uint64(i%3), uint32(i%2)
		sh.insert(st)
		states = append(states, st)
		for _, want := range states {
			if got := sh.find(want.hash, want.plan, want.usage.KeyID()); got != want {
				t.Fatalf("after %d inserts (%d slots): %s in plan %d found %p, want %p", i+1, len(sh.slots), want.usage.KeyID(), want.plan, got, want)
			}
		}
	}
	if len(sh.slots) != 32 || sh.n != 20 {
		t.Fatalf("%d states in %d slots", sh.n, len(sh.slots))
	}
	for _, miss := range []struct {
		hash  uint64
		plan  uint32
		keyID string
	}{{5, 0, "nobody"}, {5, 7, "k0"}, {6, 0, "k0"}} {
		if got := sh.find(miss.hash, miss.plan, miss.keyID); got != nil {
			t.Errorf("%+v found %s in plan %d", miss, got.usage.KeyID(), got.plan)
		}
	}
}
