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

// One update of many keys (an import, with some keys changed and some deleted in the same
// write) leaves the table an update of each would: every new or changed key found by hash and
// by id as written, deleted and replaced ones gone, each shard sorted and in range, and the
// table it replaced unchanged. The cases cover a merge into shards as they are and, past
// regrowAt, a table made anew with more shards.
func TestUpdateKeysInOneWrite(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		start, added, changed int
		deleted               int
		reshard               bool
	}{
		{"a few", 200, 3, 1, 1, false},
		{"merged into the shards", 10_000, 2_000, 500, 500, false},
		{"re-sharded", 1_000, 10_000, 100, 100, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Build(keyedInput(tc.start), Binder{})
			reg := s.regions["us-east-1"]
			before := reg.keys.Load()
			var ups []KeyUpdate
			for i := range tc.added {
				ups = append(ups, KeyUpdate{ID: fmt.Sprint("new", i), Hash: HashKey(fmt.Sprint("new-value-", i)), Enabled: i%3 != 0, PlanIDs: []string{"p1"}})
			}
			// Changed keys keep their ids, take new values and lose their plan; deleted keys
			// come after them, from the other end of the table.
			for i := range tc.changed {
				ups = append(ups, KeyUpdate{ID: fmt.Sprintf("key%06d", i), Hash: HashKey(fmt.Sprint("changed-", i)), Enabled: true})
			}
			for i := range tc.deleted {
				ups = append(ups, KeyUpdate{ID: fmt.Sprintf("key%06d", tc.start-1-i), Deleted: true})
			}
			if !s.UpdateKeys("us-east-1", ups) {
				t.Fatal("UpdateKeys wants a full build")
			}
			table := reg.keys.Load()
			checkTable(t, table)
			if want := tc.start + tc.added - tc.deleted; table.n != want {
				t.Fatalf("n %d, want %d", table.n, want)
			}
			if grew := table.bits > before.bits; grew != tc.reshard {
				t.Errorf("shards %d → %d, re-sharded %v, want %v", before.shards(), table.shards(), grew, tc.reshard)
			}
			st := s.API("api1").Stage("dev")
			for _, u := range ups {
				k := table.key(u.ID)
				if u.Deleted {
					if k != nil {
						t.Fatalf("deleted %s found by id", u.ID)
					}
					continue
				}
				if k == nil || k.hash != u.Hash || k.Enabled != u.Enabled || table.byValue(&u.Hash) != k {
					t.Fatalf("%s: %+v", u.ID, k)
				}
				if bound := k.Binding(st) != nil; bound != (len(u.PlanIDs) > 0) {
					t.Fatalf("%s: bound to the stage %v, plans %v", u.ID, bound, u.PlanIDs)
				}
			}
			for i := range max(tc.changed, tc.deleted) {
				old := HashKey(fmt.Sprintf("value-%020d", i))
				if k := table.byValue(&old); k != nil {
					t.Fatalf("the old value of changed key %d finds %s", i, k.ID)
				}
				gone := HashKey(fmt.Sprintf("value-%020d", tc.start-1-i))
				if k := table.byValue(&gone); k != nil {
					t.Fatalf("deleted key %d found by value", tc.start-1-i)
				}
			}
			// The table readers may still hold is as it was.
			checkTable(t, before)
			if before.n != tc.start || before.key("new0") != nil {
				t.Fatalf("the replaced table changed: n %d", before.n)
			}
			if k := before.key("key000000"); k == nil || k.hash != HashKey(fmt.Sprintf("value-%020d", 0)) {
				t.Fatalf("the replaced table's key000000: %+v", k)
			}
		})
	}
}

// BenchmarkImportUpdate times the update of an import of 100,000 keys into a region of a
// million, beside the full build of the same 1.1 million keys that it replaces: time, and the
// bytes each allocates (a build's are all live at once with the snapshot it replaces).
func BenchmarkImportUpdate(b *testing.B) {
	const n, added = 1_000_000, 100_000
	ups := make([]KeyUpdate, added)
	for i := range ups {
		ups[i] = KeyUpdate{ID: fmt.Sprintf("imp%06d", i), Hash: HashKey(fmt.Sprint("imported-", i)), Enabled: true, PlanIDs: []string{"p1"}}
	}
	b.Run("update", func(b *testing.B) {
		s := Build(keyedInput(n), Binder{})
		b.ReportAllocs()
		for b.Loop() {
			if !s.UpdateKeys("us-east-1", ups) {
				b.Fatal("full build wanted")
			}
		}
	})
	b.Run("build", func(b *testing.B) {
		in := keyedInput(n + added)
		b.ReportAllocs()
		for b.Loop() {
			Build(in, Binder{})
		}
	})
}
