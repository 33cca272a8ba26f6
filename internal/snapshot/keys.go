package snapshot

import (
	"crypto/sha256"
	"encoding/json"
	"hash/maphash"
	"maps"
	"sync"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
)

// keyShards splits a region's key index so that an incremental update copies the shards it
// touches (about 250 entries each at a million keys), never the whole index. Fewer, larger
// shards made a key write at a million keys copy 4,000-entry maps, and the garbage made the
// collector scan the whole heap more often (10 ms median with 256 shards).
const keyShards = 4096

// hashShard is the shard of a key value's hash.
func hashShard(h *[sha256.Size]byte) int { return int(h[0])<<4 | int(h[1]>>4) }

// keyTable is a region's key index, immutable once published: readers load it with one atomic
// read and look a key up without a lock; UpdateKeys publishes a new table that shares every
// shard it did not touch.
type keyTable struct {
	byHash [keyShards]map[[sha256.Size]byte]*Key
	byID   [keyShards]map[string]*Key
}

var idSeed = maphash.MakeSeed()

func idShard(id string) int { return int(maphash.String(idSeed, id) % keyShards) }

func newKeyTable(n int) *keyTable {
	t := &keyTable{}
	per := n / keyShards
	for i := range t.byHash {
		t.byHash[i] = make(map[[sha256.Size]byte]*Key, per)
		t.byID[i] = make(map[string]*Key, per)
	}
	return t
}

func (t *keyTable) put(k *Key) {
	t.byHash[hashShard(&k.hash)][k.hash] = k
	t.byID[idShard(k.ID)][k.ID] = k
}

// parallelFill is the key count from which fill builds the two indexes side by side.
const parallelFill = 50_000

// fill puts every key of block in the table. The two indexes are separate maps, so with many
// keys each is filled on a core of its own: at a million keys the inserts were a fifth of a
// start's time.
func (t *keyTable) fill(block []Key) {
	if len(block) < parallelFill {
		for i := range block {
			t.put(&block[i])
		}
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range block {
			k := &block[i]
			t.byHash[hashShard(&k.hash)][k.hash] = k
		}
	})
	for i := range block {
		k := &block[i]
		t.byID[idShard(k.ID)][k.ID] = k
	}
	wg.Wait()
}

// Key looks an API key up by the hash of its value.
func (r *Region) Key(hash [sha256.Size]byte) *Key {
	return r.keys.Load().byHash[hashShard(&hash)][hash]
}

// KeyUpdate is a key's state after a write, for UpdateKeys.
type KeyUpdate struct {
	ID      string
	Deleted bool // the key no longer exists
	Hash    [sha256.Size]byte
	Enabled bool
	// PlanIDs are the plans the key is in; Overrides its UpdateUsage allowances by plan.
	PlanIDs   []string
	Overrides map[string]Override
}

// UpdateKeys applies key writes to the snapshot in place: each updated key is replaced by a new
// Key bound to its plans, exactly as Build would bind it, in a new key table that shares every
// untouched shard with the current one; readers see either table, never a mix. The state
// bound to keys (quota entries, usage counters, throttle buckets) is found again through the
// Binder by ids, so it carries over. It reports false, changing nothing, when the update needs
// a full build: the region or one of the plans is not in this snapshot. Calls must not run
// concurrently (the syncer serialises them).
func (s *Snapshot) UpdateKeys(region string, ups []KeyUpdate) bool {
	reg := s.regions[region]
	if reg == nil {
		return false
	}
	for _, u := range ups {
		for _, id := range u.PlanIDs {
			if reg.plans[id] == nil {
				return false
			}
		}
	}
	next := *reg.keys.Load() // copies the shard pointers only
	// Each touched shard is cloned once, then written freely: the published table never changes.
	var ownHash, ownID [keyShards]bool
	cloneHash := func(i int) {
		if !ownHash[i] {
			next.byHash[i], ownHash[i] = maps.Clone(next.byHash[i]), true
		}
	}
	cloneID := func(i int) {
		if !ownID[i] {
			next.byID[i], ownID[i] = maps.Clone(next.byID[i]), true
		}
	}
	for _, u := range ups {
		is := idShard(u.ID)
		if prev := next.byID[is][u.ID]; prev != nil {
			hs := hashShard(&prev.hash)
			cloneHash(hs)
			delete(next.byHash[hs], prev.hash)
			cloneID(is)
			delete(next.byID[is], u.ID)
		}
		if u.Deleted {
			continue
		}
		k := &Key{ID: u.ID, Enabled: u.Enabled, hash: u.Hash}
		in := make(map[string]bool, len(u.PlanIDs))
		for _, id := range u.PlanIDs {
			in[id] = true
		}
		// The plans in Build's order, so that a key in several plans binds as a build would.
		for _, p := range reg.planOrder {
			if in[p.ID] {
				var ov map[string]Override
				if o, ok := u.Overrides[p.ID]; ok {
					ov = map[string]Override{u.ID: o}
				}
				bindKey(k, p, u.ID, ov)
			}
		}
		cloneHash(hashShard(&k.hash))
		cloneID(is)
		next.put(k)
	}
	reg.keys.Store(&next)
	return true
}

// PlanSignature is what of a usage plan the data plane enforces: its stages with their method
// throttles, throttle, quota and when the quota took effect. Two plans with the same signature
// compile alike, so a write that leaves it unchanged (a new name, description or tag) needs
// no new snapshot.
func PlanSignature(p *apigw.UsagePlan) string {
	b, _ := json.Marshal(struct {
		S  []apigw.ApiStage
		T  *apigw.Throttle
		Q  *apigw.Quota
		Q0 time.Time
	}{p.ApiStages, p.Throttle, p.Quota, p.QuotaSince})
	return string(b)
}

// PlanSignature returns the signature the snapshot compiled a region's plan from ("" and false
// when the plan is not in it).
func (s *Snapshot) PlanSignature(region, id string) (string, bool) {
	reg := s.regions[region]
	if reg == nil || reg.plans[id] == nil {
		return "", false
	}
	return reg.plans[id].sig, true
}
