package snapshot

import (
	"fmt"
	"testing"
)

// fill builds both indexes, on one core or, past parallelFill keys, on two: every key is found
// by the hash of its value and by its id, either way.
func TestKeyTableFill(t *testing.T) {
	for _, n := range []int{3, parallelFill + 7} {
		block := make([]Key, n)
		for i := range block {
			block[i] = Key{ID: fmt.Sprint("k", i), Enabled: true, hash: HashKey(fmt.Sprint("value-", i))}
		}
		table := newKeyTable(n)
		table.fill(block)
		byHash, byID := 0, 0
		for i := range keyShards {
			byHash += len(table.byHash[i])
			byID += len(table.byID[i])
		}
		if byHash != n || byID != n {
			t.Fatalf("%d keys: %d by hash, %d by id", n, byHash, byID)
		}
		for _, i := range []int{0, n / 2, n - 1} {
			h := HashKey(fmt.Sprint("value-", i))
			if k := table.byHash[hashShard(&h)][h]; k != &block[i] {
				t.Errorf("%d keys: key %d by hash = %v", n, i, k)
			}
			if k := table.byID[idShard(block[i].ID)][block[i].ID]; k != &block[i] {
				t.Errorf("%d keys: key %d by id = %v", n, i, k)
			}
		}
	}
}
