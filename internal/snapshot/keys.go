package snapshot

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"hash/maphash"
	"slices"
	"sync"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
)

// A region's key index is split into shards so that an incremental update copies the shards
// it touches, never the whole index. The shard count follows the key count: about
// keysPerShard keys a shard, from minShardBits up to maxShardBits (16,384 shards, about 61
// keys each at a million). A write clones the shards it touches, so their size is what a write
// allocates; larger shards made a key write at a million keys copy thousands of entries, and
// the garbage made the collector scan the whole heap more often.
const (
	keysPerShard = 64
	minShardBits = 4
	maxShardBits = 14
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
//
// A shard is a slice of entries sorted by a 64-bit number: for the index by value, the first
// eight bytes of the value's SHA-256; for the index by id, a seeded hash of the id. The shard is
// the number's first bits, and a lookup binary-searches the rest, then compares the whole hash
// or id (two keys may share the number). An entry is 16 bytes. Go maps keyed by the 32-byte
// hash and by the id string took about 138 bytes a key between them at a million keys: 40- and
// 24-byte slots, half of them empty where every shard had just doubled.
type keyTable struct {
	bits   uint8 // 1<<bits shards
	n      int   // keys in the table
	byHash []*group
	byID   []*group
}

// group holds 64 consecutive shards of an index (a table of fewer shards uses the first ones of
// its one group).
type group [1 << groupBits][]entry

const groupBits = 6

// entry is a key in a shard, with the number the shard is sorted by.
type entry struct {
	n uint64
	k *Key
}

var idSeed = maphash.MakeSeed()

// hashNum and idNum are the numbers a key is indexed by.
func hashNum(h *[sha256.Size]byte) uint64 { return binary.BigEndian.Uint64(h[:8]) }
func idNum(id string) uint64              { return maphash.String(idSeed, id) }

// shard is the shard of a number: its first bits.
func (t *keyTable) shard(n uint64) int { return int(n >> (64 - t.bits)) }

// at returns shard s of an index.
func at(dir []*group, s int) []entry { return dir[s>>groupBits][s&(1<<groupBits-1)] }

// search returns the position of the first entry of e whose number is n or more.
func search(e []entry, n uint64) int {
	lo, hi := 0, len(e)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if e[m].n < n {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// byValue finds the key whose value hashes to h.
func (t *keyTable) byValue(h *[sha256.Size]byte) *Key {
	n := hashNum(h)
	e := at(t.byHash, t.shard(n))
	for i := search(e, n); i < len(e) && e[i].n == n; i++ {
		if e[i].k.hash == *h {
			return e[i].k
		}
	}
	return nil
}

// key finds the key with the id.
func (t *keyTable) key(id string) *Key {
	n := idNum(id)
	e := at(t.byID, t.shard(n))
	for i := search(e, n); i < len(e) && e[i].n == n; i++ {
		if e[i].k.ID == id {
			return e[i].k
		}
	}
	return nil
}

// newKeyTable returns an empty table of the shards n keys call for.
func newKeyTable(n int) *keyTable {
	t := &keyTable{bits: shardBits(n)}
	groups := max(1, t.shards()>>groupBits)
	t.byHash = make([]*group, groups)
	t.byID = make([]*group, groups)
	for g := range groups {
		t.byHash[g], t.byID[g] = new(group), new(group)
	}
	return t
}

// shards returns the number of shards.
func (t *keyTable) shards() int { return 1 << t.bits }

// parallelFill is the key count from which fill builds the two indexes side by side.
const parallelFill = 50_000

// fill puts the keys of block in an empty table.
func (t *keyTable) fill(block []Key) {
	t.fillWith(len(block), func(i int) *Key { return &block[i] })
}

// fillWith puts n keys (key(i) for i < n) in an empty table. With many keys each index is built
// on a core of its own.
func (t *keyTable) fillWith(n int, key func(i int) *Key) {
	byHash := func() { t.fillIndex(t.byHash, n, key, func(k *Key) uint64 { return hashNum(&k.hash) }) }
	byID := func() { t.fillIndex(t.byID, n, key, func(k *Key) uint64 { return idNum(k.ID) }) }
	if n < parallelFill {
		byHash()
		byID()
	} else {
		var wg sync.WaitGroup
		wg.Go(byHash)
		byID()
		wg.Wait()
	}
	t.n += n
}

// fillIndex builds one index of an empty table: its shards are cut from one array of every
// entry (counted first, so each shard gets its exact length) and sorted. An update later
// copies a shard it changes out of the array.
func (t *keyTable) fillIndex(dir []*group, n int, key func(i int) *Key, num func(*Key) uint64) {
	if n == 0 {
		return
	}
	nums := make([]uint64, n)
	counts := make([]int32, t.shards())
	for i := range n {
		nums[i] = num(key(i))
		counts[t.shard(nums[i])]++
	}
	all := make([]entry, n)
	off := 0
	for s, c := range counts {
		dir[s>>groupBits][s&(1<<groupBits-1)] = all[off : off : off+int(c)]
		off += int(c)
	}
	for i := range n {
		g, j := dir[t.shard(nums[i])>>groupBits], t.shard(nums[i])&(1<<groupBits-1)
		g[j] = append(g[j], entry{nums[i], key(i)})
	}
	for s := range counts {
		slices.SortFunc(at(dir, s), func(a, b entry) int { return cmp.Compare(a.n, b.n) })
	}
}

// resharded returns a table holding t's keys in as many shards as their number calls for.
func (t *keyTable) resharded() *keyTable {
	keys := make([]*Key, 0, t.n)
	for s := range t.shards() {
		for _, e := range at(t.byID, s) {
			keys = append(keys, e.k)
		}
	}
	next := newKeyTable(len(keys))
	next.fillWith(len(keys), func(i int) *Key { return keys[i] })
	return next
}

// Key looks an API key up by the hash of its value.
func (r *Region) Key(hash [sha256.Size]byte) *Key {
	return r.keys.Load().byValue(&hash)
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
	hashes, ids := cow{dir: next.byHash}, cow{dir: next.byID}
	for _, u := range ups {
		if prev := next.key(u.ID); prev != nil {
			hn := hashNum(&prev.hash)
			hashes.remove(next.shard(hn), hn, prev)
			in := idNum(u.ID)
			ids.remove(next.shard(in), in, prev)
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
		hn, idn := hashNum(&k.hash), idNum(k.ID)
		hashes.insert(next.shard(hn), entry{hn, k})
		ids.insert(next.shard(idn), entry{idn, k})
		next.n++
	}
	if next.bits < maxShardBits && next.n > regrowAt*keysPerShard<<next.bits {
		reg.keys.Store(next.resharded())
		return true
	}
	reg.keys.Store(&next)
	return true
}

// cow edits the shards of one index of a new table, cloning each group and shard it writes the
// first time (dir is the new table's copy of the directory), so that tables already published
// never change.
type cow struct {
	dir            []*group
	groups, shards map[int]bool // cloned already
}

// shard returns a pointer to shard s, cloned (with its group) if not written yet, with room for
// one more entry.
func (c *cow) shard(s int) *[]entry {
	g, i := s>>groupBits, s&(1<<groupBits-1)
	if !c.shards[s] {
		if c.shards == nil {
			c.groups, c.shards = map[int]bool{}, map[int]bool{}
		}
		if !c.groups[g] {
			clone := *c.dir[g]
			c.dir[g], c.groups[g] = &clone, true
		}
		old := c.dir[g][i]
		c.dir[g][i], c.shards[s] = append(make([]entry, 0, len(old)+1), old...), true
	}
	return &c.dir[g][i]
}

// insert adds e to shard s, in order.
func (c *cow) insert(s int, e entry) {
	p := c.shard(s)
	*p = slices.Insert(*p, search(*p, e.n), e)
}

// remove takes k, indexed by n, out of shard s.
func (c *cow) remove(s int, n uint64, k *Key) {
	p := c.shard(s)
	for i := search(*p, n); i < len(*p) && (*p)[i].n == n; i++ {
		if (*p)[i].k == k {
			*p = slices.Delete(*p, i, i+1)
			return
		}
	}
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
