package snapshot

import (
	"fmt"
	"testing"
)

// count returns the keys a table holds by hash and by id, walking every shard.
func (t *keyTable) count() (byHash, byID int) {
	for i := range t.shards() {
		byHash += len(t.hashMap(i))
		byID += len(t.idMap(i))
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
			if k := table.hashMap(table.hashShard(&h))[h]; k != &block[i] {
				t.Errorf("%d keys: key %d by hash = %v", n, i, k)
			}
			if k := table.idMap(table.idShard(block[i].ID))[block[i].ID]; k != &block[i] {
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
		hashShards, idShards := 0, 0
		for g := range table.byHash {
			for i := range table.byHash[g] {
				if table.byHash[g][i] != nil {
					hashShards++
				}
				if table.byID[g][i] != nil {
					idShards++
				}
			}
		}
		if hashShards != 1<<tc.bits || idShards != 1<<tc.bits || table.shards() != 1<<tc.bits {
			t.Errorf("%d keys: %d and %d shards, want %d", tc.keys, hashShards, idShards, 1<<tc.bits)
		}
		// Every hash and id lands in a shard of the table: the first and last possible hashes.
		lo, hi := [32]byte{}, [32]byte{0: 0xff, 1: 0xff}
		if s := table.hashShard(&lo); s != 0 {
			t.Errorf("%d keys: zero hash in shard %d", tc.keys, s)
		}
		if s := table.hashShard(&hi); s != 1<<tc.bits-1 {
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
		if byID := table.idMap(table.idShard(k.ID))[k.ID]; byID != k {
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
