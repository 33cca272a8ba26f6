package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

// The change tail answers ChangesSince exactly as the table does: after concurrent writes (group
// commits of several), one that failed (its changes never committed), and a bulk write's marker,
// for every starting sequence and page size. The table's answers come from a second store opened
// on the same file, whose tail starts at the end.
func TestChangeTailMatchesTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tollgate.db")
	s := openAt(t, path)
	ctx := context.Background()
	seq0 := s.feed.Seq()
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Go(func() {
			err := s.Update(ctx, "us-east-1", func(tx store.Tx) error {
				if err := tx.PutApiKey(&apigw.ApiKey{ID: fmt.Sprint("k", i), Value: fmt.Sprintf("value-%d-0123456789", i)}); err != nil {
					return err
				}
				if i%5 == 0 {
					return fmt.Errorf("write %d fails after its insert", i)
				}
				return tx.PutUsagePlan(&apigw.UsagePlan{ID: fmt.Sprint("p", i)})
			})
			if (err != nil) != (i%5 == 0) {
				t.Errorf("write %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if err := s.Update(ctx, "us-west-2", func(tx store.Tx) error {
		for i := range 1100 { // past BulkChanges: one region-wide marker
			if err := tx.PutApiKey(&apigw.ApiKey{ID: fmt.Sprint("bulk", i), Value: fmt.Sprintf("bulk-value-%d-0123456789", i)}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, "us-east-1", func(tx store.Tx) error { return tx.DeleteApiKey("k1") }); err != nil {
		t.Fatal(err)
	}
	last := s.feed.Seq()
	table := openAt(t, path) // its tail starts at last: every question below goes to the table
	for seq := seq0; seq <= last; seq++ {
		for _, max := range []int{1, 3, 256} {
			type answer struct {
				Changes  []store.Change
				Last     int64
				Complete bool
			}
			var got, want answer
			var err error
			if got.Changes, got.Last, got.Complete, err = s.ChangesSince(ctx, seq, max); err != nil {
				t.Fatal(err)
			}
			if _, _, _, ok := s.tail.since(seq, max); !ok {
				t.Fatalf("the tail does not reach back to %d (from %d)", seq, s.tail.from)
			}
			if want.Changes, want.Last, want.Complete, err = table.ChangesSince(ctx, seq, max); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("ChangesSince(%d, %d):\n tail  %+v\n table %+v", seq, max, got, want)
			}
		}
	}
}

// The tail keeps between tailMax and twice as many of its newest rows; older questions are not
// its to answer.
func TestChangeTailBounded(t *testing.T) {
	var tl changeTail
	tl.reset(100)
	add := func(seq int64) {
		tl.add([]tailRow{{seq: seq, c: store.Change{Kind: store.KindApiKey, ID: fmt.Sprint(seq)}}})
	}
	last := int64(100)
	for ; last < 100+2*tailMax; last++ {
		add(last + 1)
	}
	if len(tl.rows) != 2*tailMax || tl.from != 100 {
		t.Fatalf("after %d rows: %d kept, from %d; want all, from 100", 2*tailMax, len(tl.rows), tl.from)
	}
	last++
	add(last) // one more trims back to the newest tailMax
	if want := last - tailMax; len(tl.rows) != tailMax || tl.from != want {
		t.Fatalf("after %d rows: %d kept, from %d; want %d from %d", 2*tailMax+1, len(tl.rows), tl.from, tailMax, want)
	}
	for _, tc := range []struct {
		seq  int64
		ok   bool
		n    int
		last int64
	}{
		{tl.from - 1, false, 0, 0},
		{tl.from, true, 3, tl.from + 3},
		{last - 1, true, 1, last},
		{last, true, 0, last},
	} {
		out, got, _, ok := tl.since(tc.seq, 2)
		if ok != tc.ok || len(out) != tc.n || got != tc.last {
			t.Errorf("since(%d, 2) = %d rows, last %d, ok %v; want %d, %d, %v", tc.seq, len(out), got, ok, tc.n, tc.last, tc.ok)
		}
	}
}
