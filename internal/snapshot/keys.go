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

// KeyCount returns the number of keys in the snapshot, in every region.
func (s *Snapshot) KeyCount() int {
	n := 0
	for _, r := range s.regions {
		n += r.keys.Load().n
	}
	return n
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
// a full build: the region or one of the plans is not in this snapshot. The ids of ups must be
// distinct. Calls must not run concurrently (the syncer serialises them).
//
// An import's 100,000 keys come as one update: their entries are sorted and merged into each
// shard they reach, which is copied once with room for them, and when they call for more shards
// the table is made anew around the same Keys. (A full build would hold a second copy of every
// key and binding until the swap.)
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
	adds := 0
	for i := range ups {
		if !ups[i].Deleted {
			adds++
		}
	}
	block := make([]Key, adds) // the new keys, in one allocation
	var removed []*Key
	j := 0
	for i := range ups {
		u := &ups[i]
		if prev := cur.key(u.ID); prev != nil {
			removed = append(removed, prev)
		}
		if u.Deleted {
			continue
		}
		k := &block[j]
		j++
		*k = Key{ID: u.ID, Enabled: u.Enabled, hash: u.Hash}
		reg.bindUpdate(k, u)
	}
	n := cur.n - len(removed) + len(block)
	if cur.bits < maxShardBits && n > regrowAt*keysPerShard<<cur.bits {
		reg.keys.Store(cur.rebuilt(removed, block))
		return true
	}
	// A copy of the group directories only; each touched group, then each touched shard, is
	// cloned once and then written freely: the published table never changes.
	next := keyTable{bits: cur.bits, n: n, byHash: slices.Clone(cur.byHash), byID: slices.Clone(cur.byID)}
	hashes, ids := cow{dir: next.byHash}, cow{dir: next.byID}
	for _, prev := range removed {
		hn, in := hashNum(&prev.hash), idNum(prev.ID)
		hashes.remove(next.shard(hn), hn, prev)
		ids.remove(next.shard(in), in, prev)
	}
	byNum := func(a, b entry) int { return cmp.Compare(a.n, b.n) }
	es := make([]entry, len(block))
	for i := range block {
		es[i] = entry{hashNum(&block[i].hash), &block[i]}
	}
	slices.SortFunc(es, byNum)
	hashes.insertAll(&next, es)
	for i := range block {
		es[i] = entry{idNum(block[i].ID), &block[i]}
	}
	slices.SortFunc(es, byNum)
	ids.insertAll(&next, es)
	reg.keys.Store(&next)
	return true
}

// bindUpdate binds a key of an update to its plans, as Build would: in the build's plan order
// when the key is in several.
func (r *Region) bindUpdate(k *Key, u *KeyUpdate) {
	overrides := func(planID string) map[string]Override {
		if o, ok := u.Overrides[planID]; ok {
			return map[string]Override{u.ID: o}
		}
		return nil
	}
	if len(u.PlanIDs) == 1 {
		bindKey(k, r.plans[u.PlanIDs[0]], overrides(u.PlanIDs[0]))
		return
	}
	in := make(map[string]bool, len(u.PlanIDs))
	for _, id := range u.PlanIDs {
		in[id] = true
	}
	for _, p := range r.planOrder {
		if in[p.ID] {
			bindKey(k, p, overrides(p.ID))
		}
	}
}

// rebuilt returns a table of t's keys without removed and with added, in as many shards as
// their number calls for (the Keys are shared, only the index is made anew).
func (t *keyTable) rebuilt(removed []*Key, added []Key) *keyTable {
	gone := make(map[*Key]struct{}, len(removed))
	for _, k := range removed {
		gone[k] = struct{}{}
	}
	keys := make([]*Key, 0, t.n-len(removed)+len(added))
	for s := range t.shards() {
		for _, e := range at(t.byID, s) {
			if _, ok := gone[e.k]; !ok {
				keys = append(keys, e.k)
			}
		}
	}
	for i := range added {
		keys = append(keys, &added[i])
	}
	next := newKeyTable(len(keys))
	next.fillWith(len(keys), func(i int) *Key { return keys[i] })
	return next
}

// cow edits the shards of one index of a new table, cloning each group and shard it writes the
// first time (dir is the new table's copy of the directory), so that tables already published
// never change.
type cow struct {
	dir            []*group
	groups, shards map[int]bool // cloned already
}

// shard returns a pointer to shard s, cloned (with its group) if not written yet, with room for
// extra more entries.
func (c *cow) shard(s, extra int) *[]entry {
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
		c.dir[g][i], c.shards[s] = append(make([]entry, 0, len(old)+extra), old...), true
	}
	p := &c.dir[g][i]
	*p = slices.Grow(*p, extra)
	return p
}

// insertAll adds es, sorted by number, to their shards (t's), each shard copied once and merged
// with what it gains.
func (c *cow) insertAll(t *keyTable, es []entry) {
	for i := 0; i < len(es); {
		s := t.shard(es[i].n)
		j := i + 1
		for j < len(es) && t.shard(es[j].n) == s {
			j++
		}
		p := c.shard(s, j-i)
		*p = merge(*p, es[i:j])
		i = j
	}
}

// merge merges b into a, both sorted by number, in a's spare capacity (which must hold b),
// from the back.
func merge(a, b []entry) []entry {
	i, j := len(a)-1, len(b)-1
	a = a[:len(a)+len(b)]
	for k := len(a) - 1; j >= 0; k-- {
		if i >= 0 && a[i].n > b[j].n {
			a[k] = a[i]
			i--
		} else {
			a[k] = b[j]
			j--
		}
	}
	return a
}

// remove takes k, indexed by n, out of shard s.
func (c *cow) remove(s int, n uint64, k *Key) {
	p := c.shard(s, 0)
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
