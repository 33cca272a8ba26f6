package snapshot

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/tollgate/tollgate/internal/limit"
	"github.com/tollgate/tollgate/internal/meter"
	"github.com/tollgate/tollgate/internal/quota"
)

// KeyStates holds the per-key state that outlives snapshots — quota entry, usage counter and
// plan throttle bucket — one keyState per region, plan and key that has been called. It is the
// only index of that state by ids: the quota counter, the meter and the limiter create what
// they are asked for and keep no map of their own, so a key in use costs one map entry here
// instead of one in each (at a million keys in use the three maps, keyed by up to six strings,
// were most of the memory a called key cost). A Binding finds its keyState here on its first
// request and caches the pointer for the life of its snapshot. Nothing is evicted, as nothing
// was from the registries before it: a deleted key's state stays until the process ends (the
// meter and the quota counter, which list what they made, still flush its usage and give its
// lease back).
type KeyStates struct {
	seed   maphash.Seed
	shards [stateShards]stateShard

	// plans numbers each (region, plan) the table has seen, so that a state names its plan
	// with a number rather than two strings. A plan keeps its number for the process's life.
	plansMu sync.RWMutex
	plans   map[planRef]uint32
}

type planRef struct{ region, planID string }

// stateShards spreads first requests of different keys over separate locks.
const stateShards = 64

// stateShard is an open-addressing hash table of states (linear probing, a power-of-two
// number of slots, at most three quarters full): each slot is one pointer, and a state carries
// its own hash, plan number and key id, to be compared and moved without a second lookup. A Go
// map keyed by (plan number, key id) cost 85 bytes a key in use at a million (its 32-byte slots
// half full where its tables had just split), against 8 bytes a slot here plus the 32 the state
// grew by.
type stateShard struct {
	mu    sync.Mutex
	slots []*keyState
	n     int
	_     [24]byte // keep neighbouring shards' locks off one cache line
}

// keyState is the state of one key in one plan. usage is set when it is made; quota and
// throttle are made on the first request that needs them (a plan may gain a quota or a
// throttle later), with a CompareAndSwap: concurrent first requests all use the winner's.
//
// The usage counter is held here rather than made apart and pointed at: one 64-byte object a
// key in use instead of 64 plus a 32-byte counter and the 16-byte interface that reached it.
// The counter's key id is the state's.
type keyState struct {
	quota    atomic.Pointer[quota.Entry]
	throttle atomic.Pointer[limit.Bucket]
	usage    meter.KeyCounter // named by Binder.Meter (which may be nil) before it is shared

	// What KeyStates finds it by (unset outside a table), with usage's key id.
	hash uint64
	plan uint32
}

// A keyState is made for every key in use, a million on a large store: it must stay within the
// 64-byte size class (this fails to compile if it grows past it).
var _ [64 - unsafe.Sizeof(keyState{})]byte

// NewKeyStates returns an empty table; give it to every Build through Binder.States.
func NewKeyStates() *KeyStates {
	return &KeyStates{seed: maphash.MakeSeed(), plans: map[planRef]uint32{}}
}

// newKeyState makes the state of a key in a plan, its usage counted by m (nil: not counted).
func newKeyState(m *meter.Meter, region, planID, keyID string) *keyState {
	st := &keyState{}
	m.Init(&st.usage, region, planID, keyID)
	return st
}

// get returns the state of a key in a plan, making it the first time with its usage counted by
// m (nil: not counted).
func (t *KeyStates) get(m *meter.Meter, region, planID, keyID string) *keyState {
	plan := t.plan(region, planID)
	h := maphash.String(t.seed, keyID) ^ uint64(plan)*0x9e3779b97f4a7c15
	sh := &t.shards[h%stateShards]
	h /= stateShards // the slot is found from the bits the shard did not use
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if st := sh.find(h, plan, keyID); st != nil {
		return st
	}
	st := newKeyState(m, region, planID, keyID)
	st.hash, st.plan = h, plan
	sh.insert(st)
	return st
}

// find returns the shard's state of the key in the plan (h its hash), or nil: the probe passes
// states of other keys and stops at the first empty slot.
func (sh *stateShard) find(h uint64, plan uint32, keyID string) *keyState {
	mask := uint64(len(sh.slots) - 1)
	for i := h & mask; len(sh.slots) > 0; i = (i + 1) & mask {
		st := sh.slots[i]
		if st == nil {
			return nil
		}
		if st.hash == h && st.plan == plan && st.usage.KeyID() == keyID {
			return st
		}
	}
	return nil
}

// insert adds a state the shard does not hold, growing the table first when it is three
// quarters full.
func (sh *stateShard) insert(st *keyState) {
	if (sh.n+1)*4 > len(sh.slots)*3 {
		old := sh.slots
		sh.slots = make([]*keyState, max(16, 2*len(old)))
		for _, o := range old {
			if o != nil {
				sh.place(o)
			}
		}
	}
	sh.place(st)
	sh.n++
}

// place puts st in the first free slot from its hash's.
func (sh *stateShard) place(st *keyState) {
	mask := uint64(len(sh.slots) - 1)
	i := st.hash & mask
	for sh.slots[i] != nil {
		i = (i + 1) & mask
	}
	sh.slots[i] = st
}

// plan returns the number of a region's plan, giving it one the first time.
func (t *KeyStates) plan(region, planID string) uint32 {
	ref := planRef{region, planID}
	t.plansMu.RLock()
	n, ok := t.plans[ref]
	t.plansMu.RUnlock()
	if ok {
		return n
	}
	t.plansMu.Lock()
	defer t.plansMu.Unlock()
	n, ok = t.plans[ref]
	if !ok {
		n = uint32(len(t.plans))
		t.plans[ref] = n
	}
	return n
}

// Len returns the number of keys (per plan) that have state.
func (t *KeyStates) Len() int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		n += sh.n
		sh.mu.Unlock()
	}
	return n
}
