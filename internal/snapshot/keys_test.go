package snapshot

import (
	"fmt"
	"testing"
)

// count returns the keys a table holds by hash and by id, walking every shard.
func (t *keyTable) count() (byHash, byID int) {
	for i := range t.shards() {
		byHash += len(at(t.byHash, i))
		byID += len(at(t.byID, i))
	}
	return byHash, byID
}

// fill builds both indexes, on one core or, past parallelFill keys, on two: every key is found
// by the hash of its value and by its id, either way.
func TestKeyTableFill(t *testing.T) {
	for _, n := range []int{0, 3, parallelFill + 7} {
		block := make([]Key, n)
		for i := range block {
			block[i] = Key{ID: fmt.Sprint("k", i), Enabled: true, hash: HashKey(fmt.Sprint("value-", i))}
		}
		table := newKeyTable(n)
		table.fill(block)
		if byHash, byID := table.count(); byHash != n || byID != n || table.n != n {
			t.Fatalf("%d keys: %d by hash, %d by id, n %d", n, byHash, byID, table.n)
		}
		for _, i := range []int{0, n / 2, n - 1} {
			if n == 0 {
				break
			}
			h := HashKey(fmt.Sprint("value-", i))
			if k := table.byValue(&h); k != &block[i] {
				t.Errorf("%d keys: key %d by hash = %v", n, i, k)
			}
			if k := table.key(block[i].ID); k != &block[i] {
				t.Errorf("%d keys: key %d by id = %v", n, i, k)
			}
		}
	}
}

// The shard count follows the key count, between its bounds.
func TestShardBits(t *testing.T) {
	for _, tc := range []struct {
		keys int
		bits uint8
	}{
		{0, minShardBits},
		{keysPerShard << minShardBits, minShardBits},
		{keysPerShard<<minShardBits + 1, minShardBits + 1},
		{10_000, 8},
		{1_000_000, maxShardBits},
		{100_000_000, maxShardBits},
	} {
		if got := shardBits(tc.keys); got != tc.bits {
			t.Errorf("shardBits(%d) = %d, want %d", tc.keys, got, tc.bits)
		}
		if tc.keys > 10_000 {
			continue // newKeyTable would allocate room for them all
		}
		table := newKeyTable(tc.keys)
		groups := max(1, 1<<tc.bits>>groupBits)
		if len(table.byHash) != groups || len(table.byID) != groups || table.shards() != 1<<tc.bits {
			t.Errorf("%d keys: %d and %d groups for %d shards, want %d shards", tc.keys, len(table.byHash), len(table.byID), table.shards(), 1<<tc.bits)
		}
		// Every hash and id lands in a shard of the table: the first and last possible hashes.
		lo, hi := [32]byte{}, [32]byte{0: 0xff, 1: 0xff}
		if s := table.shard(hashNum(&lo)); s != 0 {
			t.Errorf("%d keys: zero hash in shard %d", tc.keys, s)
		}
		if s := table.shard(hashNum(&hi)); s != 1<<tc.bits-1 {
			t.Errorf("%d keys: all-ones hash in shard %d, want %d", tc.keys, s, 1<<tc.bits-1)
		}
	}
}

// A region that starts empty and gains its keys one write at a time gets more shards as it
// grows; every key stays findable by hash and by id, deleted ones are gone, and a table once
// published never changes (readers may still hold it).
func TestUpdateKeysReshards(t *testing.T) {
	s := Build(keyedInput(0), Binder{})
	reg := s.regions["us-east-1"]
	first := reg.keys.Load()
	const n = regrowAt*keysPerShard<<minShardBits + 500
	value := func(i int) string { return fmt.Sprintf("grown-%d", i) }
	for i := 0; i < n; i += 50 { // writes of 50 keys, as an import's batches might come
		var ups []KeyUpdate
		for j := i; j < i+50 && j < n; j++ {
			ups = append(ups, KeyUpdate{ID: fmt.Sprint("g", j), Hash: HashKey(value(j)), Enabled: true, PlanIDs: []string{"p1"}})
		}
		if !s.UpdateKeys("us-east-1", ups) {
			t.Fatal("UpdateKeys wants a full build")
		}
	}
	// Delete every tenth key, and re-enable none: they must be gone by hash and by id.
	var dels []KeyUpdate
	for i := 0; i < n; i += 10 {
		dels = append(dels, KeyUpdate{ID: fmt.Sprint("g", i), Deleted: true})
	}
	s.UpdateKeys("us-east-1", dels)

	table := reg.keys.Load()
	checkTable(t, table)
	if table.bits <= minShardBits {
		t.Errorf("%d keys in %d shards: never re-sharded", table.n, 1<<table.bits)
	}
	want := n - len(dels)
	if byHash, byID := table.count(); byHash != want || byID != want || table.n != want {
		t.Fatalf("%d by hash, %d by id, n %d; want %d", byHash, byID, table.n, want)
	}
	if byHash, byID := first.count(); byHash != 0 || byID != 0 || first.n != 0 {
		t.Errorf("the first published table changed: %d by hash, %d by id, n %d", byHash, byID, first.n)
	}
	api := s.API("api1")
	for i := 0; i < n; i++ {
		k := api.Region.Key(HashKey(value(i)))
		if i%10 == 0 {
			if k != nil {
				t.Fatalf("deleted key %d found", i)
			}
			continue
		}
		if k == nil || k.ID != fmt.Sprint("g", i) || k.Binding(api.Stage("dev")) == nil {
			t.Fatalf("key %d: %+v", i, k)
		}
		if byID := table.key(k.ID); byID != k {
			t.Fatalf("key %d by id: %v", i, byID)
		}
	}
}

// BenchmarkUpdateKeys times one management write's update of the key index (one key re-bound,
// as CreateApiKey and CreateUsagePlanKey each make) at 10,000 and 1,000,000 keys: the bytes it
// allocates are what the collector pays for on every write.
func BenchmarkUpdateKeys(b *testing.B) {
	for _, n := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprint("keys=", n), func(b *testing.B) {
			s := Build(keyedInput(n), Binder{})
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				id := fmt.Sprintf("key%06d", (i*7919)%n)
				up := KeyUpdate{ID: id, Hash: HashKey(fmt.Sprintf("value-%020d", (i*7919)%n)), Enabled: i%2 == 0, PlanIDs: []string{"p1"}}
				if !s.UpdateKeys("us-east-1", []KeyUpdate{up}) {
					b.Fatal("full build wanted")
				}
			}
		})
	}
}

// checkTable fails unless every shard of both indexes is sorted, holds only entries of its own
// number range, and the two indexes hold the same n keys under their right numbers.
func checkTable(t *testing.T, table *keyTable) {
	t.Helper()
	byHash, byID := table.count()
	if byHash != table.n || byID != table.n {
		t.Fatalf("%d by hash, %d by id, n %d", byHash, byID, table.n)
	}
	for s := range table.shards() {
		for _, ix := range []struct {
			name string
			dir  []*group
			num  func(*Key) uint64
		}{
			{"hash", table.byHash, func(k *Key) uint64 { return hashNum(&k.hash) }},
			{"id", table.byID, func(k *Key) uint64 { return idNum(k.ID) }},
		} {
			e := at(ix.dir, s)
			for i := range e {
				if e[i].n != ix.num(e[i].k) || table.shard(e[i].n) != s || (i > 0 && e[i-1].n > e[i].n) {
					t.Fatalf("by %s, shard %d, entry %d of %d: number %x, key %s: out of place", ix.name, s, i, len(e), e[i].n, e[i].k.ID)
				}
			}
		}
	}
}

// Keys whose value hashes share their first eight bytes (the number a shard is sorted by) are
// each found by their whole hash, through inserts and deletes; a value no key has, with the same
// number, finds none.
func TestKeysSharingAHashPrefix(t *testing.T) {
	s := Build(keyedInput(200), Binder{})
	api := s.API("api1")
	hash := func(last byte) [32]byte {
		h := HashKey("value-00000000000000000007") // the number of a key the table holds
		h[31] = last
		return h
	}
	var ups []KeyUpdate
	for i := range 3 {
		ups = append(ups, KeyUpdate{ID: fmt.Sprint("twin", i), Hash: hash(byte(i)), Enabled: true, PlanIDs: []string{"p1"}})
	}
	s.UpdateKeys("us-east-1", ups)
	checkTable(t, api.Region.keys.Load())
	for i := range 3 {
		if k := api.Region.Key(hash(byte(i))); k == nil || k.ID != fmt.Sprint("twin", i) {
			t.Fatalf("twin %d: %+v", i, k)
		}
	}
	if k := api.Region.Key(hash(0xee)); k != nil {
		t.Fatalf("a hash no key has found %s", k.ID)
	}
	s.UpdateKeys("us-east-1", []KeyUpdate{{ID: "twin1", Deleted: true}})
	checkTable(t, api.Region.keys.Load())
	for i, want := range []string{"twin0", "", "twin2"} {
		k := api.Region.Key(hash(byte(i)))
		if (want == "" && k != nil) || (want != "" && (k == nil || k.ID != want)) {
			t.Fatalf("after deleting twin1, twin %d: %+v", i, k)
		}
	}
	if k := api.Region.Key(HashKey("value-00000000000000000007")); k == nil || k.ID != "key000007" {
		t.Fatalf("the key whose number the twins share: %+v", k)
	}
}
