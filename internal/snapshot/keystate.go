package snapshot

import (
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/tollgate/tollgate/internal/limit"
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

	// plans numbers each (region, plan) the table has seen, so that an entry's key is a number
	// and a key id (24 bytes) rather than three strings (48): at a million keys in use the map
	// cost 128 bytes a key with the longer key. A plan keeps its number for the process's life.
	plansMu sync.RWMutex
	plans   map[planRef]uint32
}

type planRef struct{ region, planID string }

// stateShards spreads first requests of different keys over separate locks.
const stateShards = 64

type stateShard struct {
	mu sync.Mutex
	m  map[stateID]*keyState
	_  [48]byte // keep neighbouring shards' locks off one cache line
}

type stateID struct {
	plan  uint32 // KeyStates.plans
	keyID string
}

// keyState is the state of one key in one plan. usage is set when it is made; quota and
// throttle are made on the first request that needs them (a plan may gain a quota or a
// throttle later), with a CompareAndSwap: concurrent first requests all use the winner's.
type keyState struct {
	quota    atomic.Pointer[quota.Entry]
	usage    UsageCounter
	throttle atomic.Pointer[limit.Bucket]
}

// NewKeyStates returns an empty table; give it to every Build through Binder.States.
func NewKeyStates() *KeyStates {
	t := &KeyStates{seed: maphash.MakeSeed(), plans: map[planRef]uint32{}}
	for i := range t.shards {
		t.shards[i].m = map[stateID]*keyState{}
	}
	return t
}

// get returns the state of a key in a plan, making it with newState the first time.
func (t *KeyStates) get(region, planID, keyID string, newState func() *keyState) *keyState {
	id := stateID{t.plan(region, planID), keyID}
	sh := &t.shards[maphash.String(t.seed, keyID)%stateShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st := sh.m[id]
	if st == nil {
		st = newState()
		sh.m[id] = st
	}
	return st
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
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}
