package sqlite

import (
	"sort"
	"sync"

	"github.com/tollgate/tollgate/internal/store"
)

// changeTail holds the newest change-log rows this process committed, so that ChangesSince, which
// the data plane calls after every management write, reads memory instead of SQLite: at 16
// concurrent writers the query was an eighth of the server's CPU a key. It can, because the
// database has one writer and it is this process (the data directory's lock keeps any other
// away): every row committed after the tail began passes through add, in sequence order.
//
// A reader asking for changes older than the tail's start (a sync that fell far behind, or one
// from before the store opened) gets false and reads the table, which is still written and
// pruned as before: the table stays the record, the tail only a cache of its end.
type changeTail struct {
	mu   sync.Mutex
	from int64     // every committed row with a sequence above from is in rows
	rows []tailRow // ascending sequence
}

type tailRow struct {
	seq int64
	c   store.Change
}

// tailMax is the fewest rows the tail keeps once it is full; it holds up to twice as many, and
// trims back to tailMax when it reaches that, so that a commit does not move the whole tail.
const tailMax = 4096

// reset starts the tail empty after seq, the newest sequence committed so far.
func (t *changeTail) reset(seq int64) {
	t.mu.Lock()
	t.from, t.rows = seq, nil
	t.mu.Unlock()
}

// add appends the rows of a commit, which come after every row added before.
func (t *changeTail) add(rows []tailRow) {
	if len(rows) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rows = append(t.rows, rows...)
	for _, r := range rows {
		if r.c.Kind == store.KindApiKeys {
			t.pruneKeyLists()
			break
		}
	}
	if n := len(t.rows) - tailMax; len(t.rows) > 2*tailMax {
		t.from = t.rows[n-1].seq
		t.rows = append(t.rows[:0], t.rows[n:]...)
	}
}

// tailKeyLists is how many key lists the tail keeps: the syncer reads each right after its write
// commits, so an older one is only wanted by a sync that fell behind, which then rebuilds (or
// reads the table, which keeps sqlstore.KeepKeyLists). Ten imports of 100,000 keys kept 11 MB
// of lists on the heap when the tail kept as many as the table.
const tailKeyLists = 2

// pruneKeyLists does to the tail what sqlstore.PruneKeyListsSQL does to the table: the key lists
// older than the newest tailKeyLists become region-wide markers.
func (t *changeTail) pruneKeyLists() {
	lists := 0
	for i := len(t.rows) - 1; i >= 0; i-- {
		if t.rows[i].c.Kind != store.KindApiKeys {
			continue
		}
		if lists++; lists > tailKeyLists {
			t.rows[i].c = store.Change{Region: t.rows[i].c.Region, Kind: "*"}
		}
	}
}

// since is ChangesSince read from the tail; ok is false when the tail does not reach back to
// seq. It returns what the query would: up to max+1 rows, complete false past max or at a bulk
// write's marker.
func (t *changeTail) since(seq int64, max int) (out []store.Change, last int64, complete, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if seq < t.from {
		return nil, 0, false, false
	}
	i := sort.Search(len(t.rows), func(i int) bool { return t.rows[i].seq > seq })
	last, complete = seq, true
	for _, r := range t.rows[i:] {
		if r.c.Kind == "*" || len(out) == max {
			complete = false
		}
		out, last = append(out, r.c), r.seq
		if len(out) > max {
			break
		}
	}
	return out, last, complete, true
}
