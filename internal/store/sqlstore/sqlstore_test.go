package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

func TestNumbered(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"WHERE a = ?", "WHERE a = $1"},
		{"VALUES (?, ?, nextval('s'), ?)", "VALUES ($1, $2, nextval('s'), $3)"},
		{"a = $1", "a = $1"},
	} {
		if got := Numbered(tc.in); got != tc.want {
			t.Errorf("Numbered(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLoadMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	for _, tc := range []struct {
		name    string
		fs      fstest.MapFS
		want    []int
		wantErr string
	}{
		{"sorted", fstest.MapFS{"m/0002_b.sql": file("B"), "m/0001_a.sql": file("A"), "m/0010_c.sql": file("C")}, []int{1, 2, 10}, ""},
		{"bad name", fstest.MapFS{"m/init.sql": file("A")}, nil, "bad migration file name"},
		{"zero", fstest.MapFS{"m/0000_a.sql": file("A")}, nil, "bad migration file name"},
		{"duplicate", fstest.MapFS{"m/0001_a.sql": file("A"), "m/1_b.sql": file("B")}, nil, "duplicate migration version 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := LoadMigrations("x store", tc.fs, "m")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "x store: ") {
					t.Fatalf("err = %v, want x store: ...%s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.Version)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("versions %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPending(t *testing.T) {
	ms := []Migration{{Version: 1}, {Version: 2}, {Version: 5}}
	for _, tc := range []struct {
		current int
		want    []int
		wantErr bool
	}{
		{0, []int{1, 2, 5}, false},
		{2, []int{5}, false},
		{3, []int{5}, false},
		{5, nil, false},
		{6, nil, true},
	} {
		got, err := Pending("x store", ms, tc.current)
		if (err != nil) != tc.wantErr {
			t.Fatalf("Pending(%d): err = %v, want error %v", tc.current, err, tc.wantErr)
		}
		var vs []int
		for _, m := range got {
			vs = append(vs, m.Version)
		}
		if fmt.Sprint(vs) != fmt.Sprint(tc.want) {
			t.Errorf("Pending(%d) = %v, want %v", tc.current, vs, tc.want)
		}
	}
}

func TestCounterTimes(t *testing.T) {
	day := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in        time.Time
		day, ceil int64
	}{
		{day, day.Unix(), day.Unix()},
		{day.Add(23*time.Hour + time.Nanosecond), day.Unix(), day.Unix() + 82801},
		{time.Unix(-1, 0), -86400, -1},
	} {
		if got := CounterDay(tc.in); got != tc.day {
			t.Errorf("CounterDay(%v) = %d, want %d", tc.in, got, tc.day)
		}
		if got := CeilUnix(tc.in); got != tc.ceil {
			t.Errorf("CeilUnix(%v) = %d, want %d", tc.in, got, tc.ceil)
		}
	}
}

// fakeQuerier records statements; every write changes one row.
type fakeQuerier struct{ execs []string }

func (f *fakeQuerier) Exec(query string, args ...any) (int64, error) {
	f.execs = append(f.execs, fmt.Sprint(query, args))
	return 1, nil
}
func (f *fakeQuerier) QueryRow([]any, string, ...any) error            { return store.ErrNotFound }
func (f *fakeQuerier) Query([]any, func() error, string, ...any) error { return nil }
func (f *fakeQuerier) NextSeq() (string, []any, error)                 { return "?", []any{int64(7)}, nil }

var testDialect = &Dialect{Name: "x store", NoLimit: int64(-1), ErrReadOnly: errors.New("read only"),
	HasPrefix: func(col, p string) (string, []any) { return col + " ^ ?", []any{p} }}

// A transaction logs a row for each aggregate it wrote; beyond BulkChanges, keys are listed in
// one row and any other aggregates collapse into a region-wide marker. Either way the write is
// bulk, which the backends tidy up after (SQLite's writer gives its page cache back,
// PostgreSQL samples the tables again): a key list must count, or an import would not.
func TestTxChanges(t *testing.T) {
	for _, tc := range []struct {
		name   string
		keys   bool // write keys, not plans
		writes int
		want   int
		kind   string // of the one row beyond BulkChanges
	}{
		{"none", false, 0, 0, ""},
		{"some", false, 3, 3, ""},
		{"at limit", false, BulkChanges, BulkChanges, ""},
		{"beyond", false, BulkChanges + 1, 1, "*"},
		{"keys at limit", true, BulkChanges / 2, BulkChanges, ""}, // two aggregates a key
		{"keys beyond", true, BulkChanges/2 + 1, 1, store.KindApiKeys},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx := NewTx(testDialect, &fakeQuerier{}, nil, "r", true)
			for i := range tc.writes {
				if tc.keys {
					// A key written twice (deleted, then detached from a plan) is listed once.
					if err := tx.DeleteApiKey(fmt.Sprint(i)); err != nil {
						t.Fatal(err)
					}
					if err := tx.DeleteUsagePlanKey("p", fmt.Sprint(i)); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := tx.PutUsagePlan(&apigw.UsagePlan{ID: fmt.Sprint(i)}); err != nil {
					t.Fatal(err)
				}
				// A second write of the same aggregate is one change.
				if err := tx.DeleteUsagePlan(fmt.Sprint(i)); err != nil {
					t.Fatal(err)
				}
			}
			log := tx.Changes()
			if len(log) != tc.want || (tc.kind != "" && log[0].Kind != tc.kind) {
				t.Fatalf("Changes() = %d rows (%v), want %d", len(log), log[:min(len(log), 2)], tc.want)
			}
			if tc.kind == store.KindApiKeys && len(store.SplitKeyIDs(log[0].ID)) != tc.writes {
				t.Fatalf("the key list holds %d ids, want %d", len(store.SplitKeyIDs(log[0].ID)), tc.writes)
			}
			if bulk := tc.kind != ""; tx.Bulk() != bulk || tx.KeyList() != (tc.kind == store.KindApiKeys) {
				t.Fatalf("Bulk() = %v, KeyList() = %v; want %v, %v", tx.Bulk(), tx.KeyList(), bulk, tc.kind == store.KindApiKeys)
			}
		})
	}
}

func TestTxInsertSplicesSeq(t *testing.T) {
	q := &fakeQuerier{}
	tx := NewTx(testDialect, q, nil, "r", true)
	if err := tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: "p", KeyID: "k"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("PutUsagePlanKey without parents: %v, want ErrNotFound", err)
	}
	if err := tx.PutRestApi(&apigw.RestApi{ID: "a"}); err != nil {
		t.Fatal(err)
	}
	if len(q.execs) != 1 || !strings.Contains(q.execs[0], "VALUES (?, ?, ?, 1, ?)") || !strings.Contains(q.execs[0], "[a r 7 ") {
		t.Fatalf("insert = %q, want the seq placeholder and value in place", q.execs)
	}
	ro := NewTx(testDialect, q, nil, "r", false)
	if err := ro.PutRestApi(&apigw.RestApi{ID: "b"}); !errors.Is(err, testDialect.ErrReadOnly) {
		t.Fatalf("write in read-only tx: %v", err)
	}
}

func TestPageBounds(t *testing.T) {
	tx := NewTx(testDialect, &fakeQuerier{}, nil, "r", false)
	for _, tc := range []struct {
		p           store.Page
		newestFirst bool
		bound       int64
		limit       any
		bad         bool
	}{
		{store.Page{}, true, 1<<63 - 1, int64(-1), false},
		{store.Page{Limit: 10}, false, 0, int64(11), false},
		{store.Page{Cursor: "42", Limit: 1}, true, 42, int64(2), false},
		{store.Page{Cursor: "-1"}, true, 0, nil, true},
		{store.Page{Cursor: "x"}, false, 0, nil, true},
	} {
		bound, limit, err := tx.pageBounds(tc.p, tc.newestFirst)
		if tc.bad {
			if !errors.Is(err, store.ErrBadCursor) {
				t.Errorf("pageBounds(%+v): %v, want ErrBadCursor", tc.p, err)
			}
			continue
		}
		if err != nil || bound != tc.bound || limit != tc.limit {
			t.Errorf("pageBounds(%+v) = %d, %v, %v; want %d, %v", tc.p, bound, limit, err, tc.bound, tc.limit)
		}
	}
}

func TestFeedAndGate(t *testing.T) {
	closed := errors.New("closed")
	f := NewFeed(closed)
	ctx, cancel := context.WithCancel(context.Background())
	seq, ch, err := f.Subscribe(ctx)
	if err != nil || seq != 0 {
		t.Fatalf("Subscribe = %d, %v", seq, err)
	}
	f.Observe(3)
	f.Observe(2) // older: no wake-up, no regression
	f.Observe(3)
	<-ch
	select {
	case <-ch:
		t.Fatal("woken twice for one change")
	default:
	}
	if f.Seq() != 3 {
		t.Fatalf("Seq = %d, want 3", f.Seq())
	}
	cancel()
	if _, ok := <-ch; ok {
		t.Fatal("channel not closed when ctx ended")
	}
	_, ch2, _ := f.Subscribe(context.Background())
	f.Close()
	if _, ok := <-ch2; ok {
		t.Fatal("channel not closed by Close")
	}
	if _, _, err := f.Subscribe(context.Background()); err != closed {
		t.Fatalf("Subscribe after Close: %v", err)
	}

	var g Gate
	done, err := g.Enter(closed)
	if err != nil {
		t.Fatal(err)
	}
	shut := make(chan bool)
	go func() { shut <- g.Close() }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		d, err := g.Enter(closed)
		if err == closed {
			break
		}
		d() // got in before Close: Close waits for it too
		if time.Now().After(deadline) {
			t.Fatal("Close never started")
		}
	}
	done()
	if !<-shut || g.Close() {
		t.Fatal("Close reports wrong first/second call")
	}
}
