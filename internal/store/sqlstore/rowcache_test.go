package sqlstore

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"unsafe"
)

// eachBatch hands write every run in order, each row built once and ready when its run is
// written; a failed build or write stops it, and it never returns while a build still runs
// (the rows' keys are the caller's again once it has returned). Run with -race: the next run
// is built on another goroutine.
func TestRowCacheEachBatch(t *testing.T) {
	errBuild, errWrite := errors.New("build"), errors.New("write")
	for _, tc := range []struct {
		name             string
		n, size          int
		failBuild        int // row whose build fails, -1 for none
		failWrite        int // run (lo) whose write fails, -1 for none
		wantRuns         [][2]int
		wantErr          error
		wantBuiltAtLeast int
		wantBuiltAtMost  int
	}{
		{name: "empty", n: 0, size: 4, failBuild: -1, failWrite: -1},
		{name: "one run", n: 3, size: 4, failBuild: -1, failWrite: -1, wantRuns: [][2]int{{0, 3}}, wantBuiltAtLeast: 3, wantBuiltAtMost: 3},
		{name: "exact runs", n: 8, size: 4, failBuild: -1, failWrite: -1, wantRuns: [][2]int{{0, 4}, {4, 8}}, wantBuiltAtLeast: 8, wantBuiltAtMost: 8},
		{name: "last run short", n: 10, size: 4, failBuild: -1, failWrite: -1, wantRuns: [][2]int{{0, 4}, {4, 8}, {8, 10}}, wantBuiltAtLeast: 10, wantBuiltAtMost: 10},
		// A row of the second run fails while the first is written: the first run's write
		// happens, the second's does not.
		{name: "build fails ahead", n: 10, size: 4, failBuild: 5, failWrite: -1, wantRuns: [][2]int{{0, 4}}, wantErr: errBuild, wantBuiltAtLeast: 6, wantBuiltAtMost: 6},
		// The first run's rows are built by write itself (nothing to overlap with yet), the
		// second's meanwhile.
		{name: "build fails in the first run", n: 10, size: 4, failBuild: 1, failWrite: -1, wantErr: errBuild, wantBuiltAtLeast: 6, wantBuiltAtMost: 6},
		// The write of the first run fails while the second is being built: eachBatch waits
		// for all of it.
		{name: "write fails", n: 10, size: 4, failBuild: -1, failWrite: 0, wantRuns: [][2]int{{0, 4}}, wantErr: errWrite, wantBuiltAtLeast: 8, wantBuiltAtMost: 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var built atomic.Int64
			builds := make([]atomic.Int64, tc.n)
			c := newRowCache(tc.n, func(i int) ([]any, error) {
				built.Add(1)
				builds[i].Add(1)
				if i == tc.failBuild {
					return nil, errBuild
				}
				return []any{i}, nil
			})
			var runs [][2]int
			err := c.eachBatch(tc.size, func(lo, hi int) error {
				for i := lo; i < hi; i++ {
					r, err := c.row(i)
					if err != nil {
						return err
					}
					if r[0] != i {
						return fmt.Errorf("row %d holds %v", i, r[0])
					}
				}
				runs = append(runs, [2]int{lo, hi})
				if lo == tc.failWrite {
					return errWrite
				}
				return nil
			})
			after := built.Load()
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if fmt.Sprint(runs) != fmt.Sprint(tc.wantRuns) {
				t.Errorf("runs written %v, want %v", runs, tc.wantRuns)
			}
			if after < int64(tc.wantBuiltAtLeast) || after > int64(tc.wantBuiltAtMost) {
				t.Errorf("%d rows built, want %d..%d", after, tc.wantBuiltAtLeast, tc.wantBuiltAtMost)
			}
			for i := range builds {
				if n := builds[i].Load(); n > 1 {
					t.Errorf("row %d built %d times", i, n)
				}
			}
		})
	}
}

// A panic while building a run ahead reaches the caller's goroutine (where the store's
// transaction recovers it), not the process.
func TestRowCacheEachBatchPanic(t *testing.T) {
	c := newRowCache(8, func(i int) ([]any, error) {
		if i == 6 {
			panic("boom")
		}
		return []any{i}, nil
	})
	defer func() {
		if r := recover(); r != "boom" {
			t.Fatalf("recovered %v, want the build's panic", r)
		}
	}()
	_ = c.eachBatch(4, func(lo, hi int) error { return nil })
	t.Fatal("eachBatch returned")
}

// A bulk insert's text has a row per value with its counter's expression; a run like the last
// one reuses its text, any other gets its own.
func TestBatchText(t *testing.T) {
	var b batchText
	text := func(exprs ...string) string {
		b.start()
		for _, e := range exprs {
			b.add(e)
		}
		return b.query("INSERT INTO t (a, seq) VALUES ", "(?, ", " RETURNING a")
	}
	var prev string
	for _, tc := range []struct {
		exprs  []string
		want   string
		reused bool // the text of the run before, not made again
	}{
		{exprs: []string{"?", "?"}, want: "INSERT INTO t (a, seq) VALUES (?, ?),(?, ?) RETURNING a"},
		{exprs: []string{"?", "?"}, want: "INSERT INTO t (a, seq) VALUES (?, ?),(?, ?) RETURNING a", reused: true},
		{exprs: []string{"?"}, want: "INSERT INTO t (a, seq) VALUES (?, ?) RETURNING a"},
		{exprs: []string{"nextval('s')", "nextval('s')"}, want: "INSERT INTO t (a, seq) VALUES (?, nextval('s')),(?, nextval('s')) RETURNING a"},
		{exprs: []string{"nextval('s')", "nextval('s')"}, want: "INSERT INTO t (a, seq) VALUES (?, nextval('s')),(?, nextval('s')) RETURNING a", reused: true},
		{exprs: []string{"?", "nextval('s')"}, want: "INSERT INTO t (a, seq) VALUES (?, ?),(?, nextval('s')) RETURNING a"},
	} {
		got := text(tc.exprs...)
		if got != tc.want {
			t.Errorf("%v: %q, want %q", tc.exprs, got, tc.want)
		}
		if same := unsafe.StringData(got) == unsafe.StringData(prev); same != tc.reused {
			t.Errorf("%v: text reused %v, want %v", tc.exprs, same, tc.reused)
		}
		prev = got
	}
}
