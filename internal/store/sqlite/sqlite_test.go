package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
	"github.com/tollgate/tollgate/internal/store/sqlstore"
	"github.com/tollgate/tollgate/internal/store/storetest"
)

func openAt(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, storetest.Keys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openAt(t, filepath.Join(t.TempDir(), "tollgate.db"))
	})
}

func TestDurability(t *testing.T) {
	storetest.RunDurability(t, func(t *testing.T) (store.Store, func() store.Store) {
		path := filepath.Join(t.TempDir(), "nested", "dir", "tollgate.db") // Open creates the directories
		s := openAt(t, path)
		return s, func() store.Store {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = openAt(t, path)
			return s
		}
	})
}

func TestMigrationsApplyOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tollgate.db")
	for range 2 {
		s := openAt(t, path)
		var n, v int
		if err := s.reader.QueryRow("SELECT COUNT(*), MAX(version) FROM schema_migrations").Scan(&n, &v); err != nil {
			t.Fatal(err)
		}
		ms, err := loadMigrations()
		if err != nil {
			t.Fatal(err)
		}
		if n != len(ms) || v != ms[len(ms)-1].Version {
			t.Fatalf("schema_migrations: %d rows up to %d, want %d up to %d", n, v, len(ms), ms[len(ms)-1].Version)
		}
		s.Close()
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tollgate.db")
	s := openAt(t, path)
	if _, err := s.writer.Exec("INSERT INTO schema_migrations (version, name) VALUES (9999, 'future')"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s2, err := Open(context.Background(), path, storetest.Keys); err == nil {
		s2.Close()
		t.Fatal("Open accepted a database from a newer binary")
	}
}

func TestPragmas(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "tollgate.db"))
	for _, tc := range []struct {
		pragma string
		want   string
	}{{"journal_mode", "wal"}, {"synchronous", "2"}, {"foreign_keys", "1"}, {"busy_timeout", fmt.Sprint(busyTimeoutMS)}} {
		var got string
		if err := s.writer.QueryRow("PRAGMA " + tc.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s = %s, want %s", tc.pragma, got, tc.want)
		}
	}
}

func TestRejectsNonFilePaths(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db", "x.db?mode=ro"} {
		if s, err := Open(context.Background(), p, storetest.Keys); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

func TestWriteInViewFails(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "tollgate.db"))
	err := s.View(context.Background(), "us-east-1", func(tx store.Tx) error {
		return tx.PutApiKey(&apigw.ApiKey{ID: "k", Value: "v"})
	})
	if !errors.Is(err, errReadOnly) {
		t.Fatalf("PutApiKey in View: %v, want errReadOnly", err)
	}
}

// Close lets an Update that already started finish and commit; calls after Close fail.
func TestCloseWaitsForPendingUpdate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tollgate.db")
	s := openAt(t, path)
	inside, release := make(chan struct{}), make(chan struct{})
	updated := make(chan error, 1)
	go func() {
		updated <- s.Update(context.Background(), "us-east-1", func(tx store.Tx) error {
			close(inside)
			<-release
			return tx.PutApiKey(&apigw.ApiKey{ID: "k1", Value: "v1"})
		})
	}()
	<-inside
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while an Update was running", err)
	case err := <-updated:
		t.Fatalf("Update returned (%v) before it was released", err)
	default:
	}
	close(release)
	if err := <-updated; err != nil {
		t.Fatalf("pending Update: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	err := s.Update(context.Background(), "us-east-1", func(store.Tx) error { return nil })
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("Update after Close: %v, want ErrClosed", err)
	}
	s2 := openAt(t, path)
	err = s2.View(context.Background(), "us-east-1", func(tx store.Tx) error {
		_, err := tx.GetApiKey("k1")
		return err
	})
	if err != nil {
		t.Fatalf("key written by the Update Close waited for: %v", err)
	}
}

// The Changes channel is closed when the subscriber's context ends, so `for range wake` ends.
func TestChangesChannelClosedOnCancel(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "tollgate.db"))
	ctx, cancel := context.WithCancel(context.Background())
	_, wake, err := s.Changes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-wake:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("wake channel not closed after cancel")
		}
	}
}

// A bulk write of keys logs one change row listing them instead of one per key.
func TestBulkChangeCollapses(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "tollgate.db"))
	n := sqlstore.BulkChanges + 1
	putKeys(t, s, "us-east-1", n, 0)
	var rows int
	var kind string
	if err := s.reader.QueryRow("SELECT COUNT(*), MAX(kind) FROM changes").Scan(&rows, &kind); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || kind != store.KindApiKeys {
		t.Fatalf("change log after a bulk write: %d rows, kind %q; want 1 row of kind %s", rows, kind, store.KindApiKeys)
	}
	putKeys(t, s, "us-east-1", 2, n)
	if err := s.reader.QueryRow("SELECT COUNT(*) FROM changes").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 3 {
		t.Fatalf("change log after a small write: %d rows, want 3", rows)
	}
}

// putKeys inserts n keys numbered from first in one Update.
func putKeys(t testing.TB, s *Store, region string, n, first int) {
	t.Helper()
	now := time.Date(2026, 9, 13, 12, 0, 0, 0, time.UTC)
	err := s.Update(context.Background(), region, func(tx store.Tx) error {
		for i := first; i < first+n; i++ {
			k := &apigw.ApiKey{ID: fmt.Sprintf("key%07d", i), Value: fmt.Sprintf("value%035d", i),
				Name: fmt.Sprintf("name-%d", i%100), Enabled: true, CreatedDate: now, LastUpdatedDate: now}
			if err := tx.PutApiKey(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// cpuTime returns the process's user+system CPU time. Benchmarks report it per op next to the wall
// time, which on a shared machine mostly measures the neighbours.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds a cpu-ms/op metric for the CPU time spent since start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime(b)-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// BenchmarkPutApiKeys100k is an ImportApiKeys of 100,000 keys: one Update.
func BenchmarkPutApiKeys100k(b *testing.B) {
	b.ReportAllocs()
	var cpu time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		s := openAt(b, filepath.Join(b.TempDir(), fmt.Sprintf("bench%d.db", i)))
		b.StartTimer()
		start := cpuTime(b)
		putKeys(b, s, "us-east-1", 100_000, 0)
		cpu += cpuTime(b) - start
	}
	b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// BenchmarkPageApiKeys100k walks all 100,000 keys in pages of 500 (the GetApiKeys maximum).
func BenchmarkPageApiKeys100k(b *testing.B) {
	s := openAt(b, filepath.Join(b.TempDir(), "bench.db"))
	putKeys(b, s, "us-east-1", 100_000, 0)
	b.ReportAllocs()
	defer reportCPU(b, cpuTime(b))
	for b.Loop() {
		cursor, total := "", 0
		for {
			err := s.View(context.Background(), "us-east-1", func(tx store.Tx) error {
				ks, next, err := tx.ListApiKeys(store.ApiKeyFilter{}, store.Page{Cursor: cursor, Limit: 500})
				total += len(ks)
				cursor = next
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			if cursor == "" {
				break
			}
		}
		if total != 100_000 {
			b.Fatalf("walked %d keys", total)
		}
	}
}

// BenchmarkPageApiKeysDeep100k reads one page of 500 deep into 100,000 keys, with a name filter:
// the cost of a page must not grow with its position.
func BenchmarkPageApiKeysDeep100k(b *testing.B) {
	s := openAt(b, filepath.Join(b.TempDir(), "bench.db"))
	putKeys(b, s, "us-east-1", 100_000, 0)
	b.ReportAllocs()
	defer reportCPU(b, cpuTime(b))
	for b.Loop() {
		err := s.View(context.Background(), "us-east-1", func(tx store.Tx) error {
			ks, _, err := tx.ListApiKeys(store.ApiKeyFilter{NamePrefix: "name-1"}, store.Page{Cursor: "60000", Limit: 500})
			if err == nil && len(ks) != 500 {
				err = fmt.Errorf("%d keys", len(ks))
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadAfterWrite is the data plane's syncer after a key write at 100,000 keys: one
// key's index entry and plans, read right after the write commits, on a reader connection
// (View) and on the writer's (ViewWritten).
func BenchmarkReadAfterWrite(b *testing.B) {
	s := openAt(b, filepath.Join(b.TempDir(), "bench.db"))
	const n = 100_000
	putKeys(b, s, "us-east-1", n, 0)
	ctx := context.Background()
	read := func(view func(context.Context, string, func(store.Tx) error) error, id string) {
		err := view(ctx, "us-east-1", func(tx store.Tx) error {
			if _, err := tx.KeyIndexOf([]string{id}); err != nil {
				return err
			}
			_, err := tx.PlansOfKeys([]string{id})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name string
		view func(context.Context, string, func(store.Tx) error) error
	}{{"reader", s.View}, {"writer", s.ViewWritten}} {
		b.Run(bc.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				id := fmt.Sprintf("key%07d", (i*7919)%n)
				b.StopTimer()
				err := s.Update(ctx, "us-east-1", func(tx store.Tx) error {
					k, err := tx.GetApiKey(id)
					if err != nil {
						return err
					}
					k.Description = fmt.Sprint(i)
					return tx.PutApiKey(k)
				})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				read(bc.view, id)
			}
		})
	}
}

// ViewWritten reads on the writer's connection: it sees what was just committed, refuses writes
// like any view, and leaves the writer free for the next write.
func TestViewWritten(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "s.db"))
	ctx := context.Background()
	putKeys(t, s, "us-east-1", 3, 0)
	for i := range 3 {
		id := fmt.Sprintf("key%07d", i)
		if err := s.Update(ctx, "us-east-1", func(tx store.Tx) error {
			k, err := tx.GetApiKey(id)
			if err != nil {
				return err
			}
			k.Enabled = false
			return tx.PutApiKey(k)
		}); err != nil {
			t.Fatal(err)
		}
		err := s.ViewWritten(ctx, "us-east-1", func(tx store.Tx) error {
			es, err := tx.KeyIndexOf([]string{id})
			if err != nil {
				return err
			}
			if len(es) != 1 || es[0].Enabled {
				t.Errorf("%s: ViewWritten reads it enabled after the write that disabled it", id)
			}
			if err := tx.DeleteApiKey(id); err == nil {
				t.Errorf("%s: a write inside ViewWritten was accepted", id)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.View(ctx, "us-east-1", func(tx store.Tx) error {
		_, err := tx.GetApiKey("key0000000")
		return err
	}); err != nil {
		t.Fatalf("the key is gone after ViewWritten refused its deletion: %v", err)
	}
}

// The data plane's batched reads of keys (an import's 100,000 after it commits) look each id up
// in an index. With the region in KeyIndexOf's WHERE clause, SQLite chose the covering index
// that starts with the region (without statistics it takes an equality there to match a few
// rows) and walked every key of the region for each batch of 500: minutes at a million keys.
func TestBatchedReadsLookUp(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "tollgate.db"))
	putKeys(t, s, "us-east-1", 1000, 0)
	// Usage of every key on 30 days: GetUsage's page must read its keys' rows, not the days'.
	var deltas []store.UsageDelta
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for d := range 30 {
		for i := range 1000 {
			deltas = append(deltas, store.UsageDelta{Region: "us-east-1", PlanID: "p1", KeyID: fmt.Sprint("id", i), Day: day.AddDate(0, 0, d), Count: 1})
		}
	}
	if err := s.AddUsage(t.Context(), deltas); err != nil {
		t.Fatal(err)
	}
	prefix := map[string][]any{
		sqlstore.QuotaAllowancesSQL: {"us-east-1", "p1", 0},
		usageOfSQL:                  {"us-east-1", "p1", day.Unix(), day.AddDate(0, 0, 29).Unix()},
	}
	lookup := regexp.MustCompile(`[ (](key_)?id=\?`) // plan_id=? is not a lookup by the ids
	for _, q := range []string{sqlstore.KeyIndexOfSQL, sqlstore.PlansOfKeysSQL, sqlstore.QuotaAllowancesSQL, usageOfSQL} {
		// A full batch: with few ids, SQLite looked them up even with the region there.
		query := sqlstore.InList(q, strings.TrimSuffix(strings.Repeat("?, ", sqlstore.InBatch), ", "))
		args := slices.Clone(prefix[q])
		for i := range sqlstore.InBatch {
			args = append(args, fmt.Sprint("id", i))
		}
		rows, err := s.reader.Query("EXPLAIN QUERY PLAN "+query, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		// Each step that reads the table must look up by the id (api_keys.id or key_id), not
		// walk a region.
		for _, step := range plan {
			if (strings.HasPrefix(step, "SCAN") || strings.HasPrefix(step, "SEARCH")) && !lookup.MatchString(step) {
				t.Errorf("%s\nplan %q: does not look the ids up", query[:40], plan)
			}
		}
		t.Logf("%q", plan)
	}
}
