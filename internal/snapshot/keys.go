package snapshot

import (
	"crypto/sha256"
	"encoding/json"
	"hash/maphash"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
)

// A region's key index is split into shards so that an incremental update copies the shards
// it touches, never the whole index. The shard count follows the key count: about
// keysPerShard keys a shard, from minShardBits up to maxShardBits (16,384 shards, about 61
// keys each at a million). A write clones the maps of the shards it touches, so their size is
// what a write allocates (BenchmarkUpdateKeys at a million keys: 15.7 KB a write with 64 keys a
// shard, about 40 KB with 256, 109 KB with 256 and no groups); larger shards made a key write at a million keys copy 4,000-entry
// maps, and the garbage made the collector scan the whole heap more often. Small maps cost
// more than their keys, though: a fixed 4,096 shards at 10,000 keys made 8,192 maps of two or
// three entries each, whose empty slots and headers cost 2.5 MB.
const (
	keysPerShard = 64
	minShardBits = 4
	maxShardBits = 14 // hashShard takes at most the hash's first 16 bits
	// regrowAt is how many times keysPerShard a table's shards may hold on average before an
	// update re-shards it: a region that grows key by key from empty re-shards a few times, each
	// time copying every entry once, so a key's share of that work stays constant.
	regrowAt = 4
)

// shardBits returns the log2 of the shard count for n keys.
func shardBits(n int) uint8 {
	b := uint8(minShardBits)
	for b < maxShardBits && n > keysPerShard<<b {
		b++
	}
	return b
}

// keyTable is a region's key index, immutable once published: readers load it with one atomic
// read and look a key up without a lock; UpdateKeys publishes a new table that shares every
// shard it did not touch. The shards are reached through a directory of groups of 64, so that
// an update copies the directory and the groups it touches, not a list of every shard.
type keyTable struct {
	bits   uint8 // 1<<bits shards
	n      int   // keys in the table
	byHash []*group[[sha256.Size]byte]
	byID   []*group[string]
}

// group holds 64 consecutive shards of an index (a table of fewer shards uses the first ones of
// its one group).
type group[K comparable] [1 << groupBits]map[K]*Key

const groupBits = 6

var idSeed = maphash.MakeSeed()

// hashShard is the shard of a key value's hash: its first bits.
func (t *keyTable) hashShard(h *[sha256.Size]byte) int {
	return int((uint16(h[0])<<8 | uint16(h[1])) >> (16 - t.bits))
}

// idShard is the shard of a key id.
func (t *keyTable) idShard(id string) int { return int(maphash.String(idSeed, id) >> (64 - t.bits)) }

// hashMap and idMap return a shard's map.
func (t *keyTable) hashMap(s int) map[[sha256.Size]byte]*Key {
	return t.byHash[s>>groupBits][s&(1<<groupBits-1)]
}

func (t *keyTable) idMap(s int) map[string]*Key { return t.byID[s>>groupBits][s&(1<<groupBits-1)] }

// newKeyTable returns an empty table sized for n keys.
func newKeyTable(n int) *keyTable {
	t := &keyTable{bits: shardBits(n)}
	shards := 1 << t.bits
	groups := max(1, shards>>groupBits)
	t.byHash = make([]*group[[sha256.Size]byte], groups)
	t.byID = make([]*group[string], groups)
	for g := range groups {
		t.byHash[g], t.byID[g] = new(group[[sha256.Size]byte]), new(group[string])
	}
	per := n / shards
	for s := range shards {
		t.byHash[s>>groupBits][s&(1<<groupBits-1)] = make(map[[sha256.Size]byte]*Key, per)
		t.byID[s>>groupBits][s&(1<<groupBits-1)] = make(map[string]*Key, per)
	}
	return t
}

// shards returns the number of shards.
func (t *keyTable) shards() int { return 1 << t.bits }

// put adds k to shards the caller owns (a new table's, or ones cloned for an update).
func (t *keyTable) put(k *Key) {
	t.hashMap(t.hashShard(&k.hash))[k.hash] = k
	t.idMap(t.idShard(k.ID))[k.ID] = k
	t.n++
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
			t.hashMap(t.hashShard(&k.hash))[k.hash] = k
		}
	})
	for i := range block {
		k := &block[i]
		t.idMap(t.idShard(k.ID))[k.ID] = k
	}
	wg.Wait()
	t.n += len(block)
}

// resharded returns a table holding t's keys in as many shards as their number calls for.
func (t *keyTable) resharded() *keyTable {
	next := newKeyTable(t.n)
	for s := range t.shards() {
		for _, k := range t.idMap(s) {
			next.put(k)
		}
	}
	return next
}

// Key looks an API key up by the hash of its value.
func (r *Region) Key(hash [sha256.Size]byte) *Key {
	t := r.keys.Load()
	return t.hashMap(t.hashShard(&hash))[hash]
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
	cur := reg.keys.Load()
	// A copy of the group directories only; each touched group, then each touched shard, is
	// cloned once and then written freely: the published table never changes.
	next := keyTable{bits: cur.bits, n: cur.n, byHash: slices.Clone(cur.byHash), byID: slices.Clone(cur.byID)}
	hashes := cow[[sha256.Size]byte]{dir: next.byHash}
	ids := cow[string]{dir: next.byID}
	cloneHash, cloneID := hashes.shard, ids.shard
	for _, u := range ups {
		is := next.idShard(u.ID)
		if prev := next.idMap(is)[u.ID]; prev != nil {
			delete(cloneHash(next.hashShard(&prev.hash)), prev.hash)
			delete(cloneID(is), u.ID)
			next.n--
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
				bindKey(k, p, ov)
			}
		}
		cloneHash(next.hashShard(&k.hash))
		cloneID(is)
		next.put(k)
	}
	if next.bits < maxShardBits && next.n > regrowAt*keysPerShard<<next.bits {
		reg.keys.Store(next.resharded())
		return true
	}
	reg.keys.Store(&next)
	return true
}

// cow clones, once per update, the groups and shards of one of a new table's indexes that the
// update writes (dir is the new table's copy of the directory).
type cow[K comparable] struct {
	dir            []*group[K]
	groups, shards map[int]bool // cloned already
}

// shard returns shard s, cloned (with its group) if this update has not written it yet.
func (c *cow[K]) shard(s int) map[K]*Key {
	g, i := s>>groupBits, s&(1<<groupBits-1)
	if !c.shards[s] {
		if c.shards == nil {
			c.groups, c.shards = map[int]bool{}, map[int]bool{}
		}
		if !c.groups[g] {
			clone := *c.dir[g]
			c.dir[g], c.groups[g] = &clone, true
		}
		c.dir[g][i], c.shards[s] = maps.Clone(c.dir[g][i]), true
	}
	return c.dir[g][i]
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
