package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/quota/quotatest"
	"github.com/tollgate/tollgate/internal/store"
	"github.com/tollgate/tollgate/internal/store/sqlstore"
	"github.com/tollgate/tollgate/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openFresh(t) })
}

func TestDurability(t *testing.T) {
	storetest.RunDurability(t, func(t *testing.T) (store.Store, func() store.Store) {
		dsn := freshSchema(t)
		s := openDSN(t, dsn, Options{})
		return s, func() store.Store {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = openDSN(t, dsn, Options{})
			return s
		}
	})
}

func TestCountersConformance(t *testing.T) {
	storetest.RunCounters(t, func(t *testing.T) store.Counters { return openFresh(t) })
}

func TestCountersDurability(t *testing.T) {
	storetest.RunCountersDurability(t, func(t *testing.T) (store.Counters, func() store.Counters) {
		dsn := freshSchema(t)
		s := openDSN(t, dsn, Options{})
		return s, func() store.Counters {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = openDSN(t, dsn, Options{})
			return s
		}
	})
}

// The quota invariants (exact admission, kill -9 safety, allowance changes) over real
// PostgreSQL reservations.
func TestQuotaOverPostgres(t *testing.T) {
	quotatest.Run(t, func(t *testing.T) store.Counters { return openFresh(t) })
}

// Several nodes starting at once on an empty schema: all open, the migrations run once.
func TestConcurrentStartMigratesOnce(t *testing.T) {
	dsn := freshSchema(t)
	const nodes = 4
	stores := make([]*Store, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { stores[i], errs[i] = Open(context.Background(), dsn, storetest.Keys, Options{}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	var n, v int
	if err := stores[0].pool.QueryRow(context.Background(), "SELECT COUNT(*), MAX(version) FROM schema_migrations").Scan(&n, &v); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || v != ms[len(ms)-1].Version {
		t.Fatalf("schema_migrations: %d rows up to %d, want %d up to %d", n, v, len(ms), ms[len(ms)-1].Version)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	dsn := freshSchema(t)
	s := openDSN(t, dsn, Options{})
	sqlOn(t, s, "INSERT INTO schema_migrations (version, name) VALUES (9999, 'future')")
	s.Close()
	if s2, err := Open(context.Background(), dsn, storetest.Keys, Options{}); err == nil {
		s2.Close()
		t.Fatal("Open accepted a database from a newer binary")
	}
}

func TestOpenErrors(t *testing.T) {
	dsn := testDSN(t)
	for _, tc := range []struct{ name, dsn string }{
		{"missing schema", withSearchPath(dsn, "tgtest_does_not_exist")},
		{"malformed dsn", "postgres://%zz"},
		{"unknown database", withDatabase(dsn, "tg_no_such_db")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if s, err := Open(context.Background(), tc.dsn, storetest.Keys, Options{}); err == nil {
				s.Close()
				t.Fatalf("Open(%s) succeeded", redact(tc.dsn))
			}
		})
	}
}

func TestWriteInViewFails(t *testing.T) {
	s := openFresh(t)
	writes := []struct {
		name string
		call func(store.Tx) error
	}{
		{"PutApiKey", func(tx store.Tx) error { return tx.PutApiKey(&apigw.ApiKey{ID: "k", Value: "v"}) }},
		{"PutUsagePlanKey", func(tx store.Tx) error { return tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: "p", KeyID: "k"}) }},
		{"PutDeployment", func(tx store.Tx) error { return tx.PutDeployment(&apigw.Deployment{ID: "d", ApiID: "a"}) }},
		{"PutStage", func(tx store.Tx) error { return tx.PutStage(&apigw.Stage{ApiID: "a", StageName: "s"}) }},
		{"DeleteApiKey", func(tx store.Tx) error { return tx.DeleteApiKey("k") }},
	}
	for _, tc := range writes {
		t.Run(tc.name, func(t *testing.T) {
			err := s.View(context.Background(), "us-east-1", tc.call)
			if !errors.Is(err, errReadOnly) {
				t.Fatalf("%s in View: %v, want errReadOnly", tc.name, err)
			}
		})
	}
}

// ErrConflict must leave the transaction usable: callers retry a colliding generated id (or
// value) in the same Update, and PostgreSQL aborts a transaction on the first failed statement.
func TestConflictKeepsTransactionUsable(t *testing.T) {
	s := openFresh(t)
	ctx := context.Background()
	key := func(id, value string) *apigw.ApiKey { return &apigw.ApiKey{ID: id, Value: value, Name: id} }
	if err := s.Update(ctx, "us-east-1", func(tx store.Tx) error {
		return errors.Join(tx.PutApiKey(key("k1", "v1")), tx.PutApiKey(key("k2", "v2")),
			tx.PutUsagePlan(&apigw.UsagePlan{ID: "p1"}), tx.PutRestApi(&apigw.RestApi{ID: "a1"}))
	}); err != nil {
		t.Fatal(err)
	}
	conflicts := []struct {
		name string
		call func(store.Tx) error
	}{
		{"duplicate key id", func(tx store.Tx) error { return tx.PutApiKey(key("k1", "v-new")) }},
		{"duplicate key value", func(tx store.Tx) error { return tx.PutApiKey(key("k-new", "v1")) }},
		{"update to a taken value", func(tx store.Tx) error {
			k, err := tx.GetApiKey("k2")
			if err != nil {
				return err
			}
			k.Value = "v1"
			return tx.PutApiKey(k)
		}},
		{"stale rev", func(tx store.Tx) error { k := key("k1", "v1"); k.Rev = 7; return tx.PutApiKey(k) }},
		{"duplicate plan", func(tx store.Tx) error { return tx.PutUsagePlan(&apigw.UsagePlan{ID: "p1"}) }},
		{"duplicate api", func(tx store.Tx) error { return tx.PutRestApi(&apigw.RestApi{ID: "a1"}) }},
	}
	for i, tc := range conflicts {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("after%d", i)
			err := s.Update(ctx, "us-east-1", func(tx store.Tx) error {
				if err := tc.call(tx); !errors.Is(err, store.ErrConflict) {
					return fmt.Errorf("first call: %v, want ErrConflict", err)
				}
				return tx.PutApiKey(key(id, "value-"+id)) // the retry, in the same transaction
			})
			if err != nil {
				t.Fatal(err)
			}
			err = s.View(ctx, "us-east-1", func(tx store.Tx) error { _, err := tx.GetApiKey(id); return err })
			if err != nil {
				t.Fatalf("write after the conflict was not committed: %v", err)
			}
		})
	}
}

// Read-modify-write Updates from two stores (two nodes) never lose an increment nor see a Rev
// conflict: the write lock serializes them cluster-wide, like SQLite's single writer.
func TestUpdatesSerializeAcrossStores(t *testing.T) {
	dsn := freshSchema(t)
	a, b := openDSN(t, dsn, Options{}), openDSN(t, dsn, Options{})
	ctx := context.Background()
	if err := a.Update(ctx, "us-east-1", func(tx store.Tx) error {
		return tx.PutAccount(&apigw.Account{ApiKeyVersion: "0"})
	}); err != nil {
		t.Fatal(err)
	}
	const workers, each = 4, 10
	var wg sync.WaitGroup
	for w := range workers {
		s := []*Store{a, b}[w%2]
		wg.Go(func() {
			for range each {
				err := s.Update(ctx, "us-east-1", func(tx store.Tx) error {
					acct, err := tx.GetAccount()
					if err != nil {
						return err
					}
					var n int
					fmt.Sscan(acct.ApiKeyVersion, &n)
					acct.ApiKeyVersion = fmt.Sprint(n + 1)
					return tx.PutAccount(acct)
				})
				if err != nil {
					t.Errorf("increment: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	err := b.View(ctx, "us-east-1", func(tx store.Tx) error {
		acct, err := tx.GetAccount()
		if err == nil && (acct.ApiKeyVersion != fmt.Sprint(workers*each) || acct.Rev != workers*each+1) {
			err = fmt.Errorf("counter %s at rev %d, want %d at rev %d", acct.ApiKeyVersion, acct.Rev, workers*each, workers*each+1)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRetry(t *testing.T) {
	pgErr := func(code string) error { return fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: code}) }
	for _, tc := range []struct {
		name     string
		errs     []error // returned by successive attempts; nil after the list
		attempts int
		wantErr  bool
	}{
		{"success", nil, 1, false},
		{"serialization failure then success", []error{pgErr("40001"), pgErr("40001")}, 3, false},
		{"deadlock then success", []error{pgErr("40P01")}, 2, false},
		{"other error is not retried", []error{pgErr("23505")}, 1, true},
		{"plain error is not retried", []error{errors.New("boom")}, 1, true},
		{"gives up", func() []error {
			var es []error
			for range maxAttempts + 3 {
				es = append(es, pgErr("40001"))
			}
			return es
		}(), maxAttempts, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			err := retry(context.Background(), func() error {
				n++
				if n <= len(tc.errs) {
					return tc.errs[n-1]
				}
				return nil
			})
			if n != tc.attempts || (err != nil) != tc.wantErr {
				t.Fatalf("%d attempts, err %v; want %d attempts, error %v", n, err, tc.attempts, tc.wantErr)
			}
		})
	}
}

// Close lets an Update that already started finish and commit; calls after Close fail.
func TestCloseWaitsForPendingUpdate(t *testing.T) {
	dsn := freshSchema(t)
	s := openDSN(t, dsn, Options{})
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
	calls := map[string]error{
		"Update":       s.Update(context.Background(), "us-east-1", func(store.Tx) error { return nil }),
		"View":         s.View(context.Background(), "us-east-1", func(store.Tx) error { return nil }),
		"ReserveQuota": func() error { _, _, err := s.ReserveQuota(context.Background(), store.QuotaKey{}, 1, 1); return err }(),
		"Heartbeat":    s.Heartbeat(context.Background(), "n"),
		"Changes":      func() error { _, _, err := s.Changes(context.Background()); return err }(),
	}
	for name, err := range calls {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	s2 := openDSN(t, dsn, Options{})
	err := s2.View(context.Background(), "us-east-1", func(tx store.Tx) error {
		_, err := tx.GetApiKey("k1")
		return err
	})
	if err != nil {
		t.Fatalf("key written by the Update Close waited for: %v", err)
	}
}

// A bulk write of keys logs one change row listing them instead of one per key.
func TestBulkChangeCollapses(t *testing.T) {
	s := openFresh(t)
	count := func() (rows int, kind string) {
		t.Helper()
		if err := s.pool.QueryRow(context.Background(), "SELECT COUNT(*), COALESCE(MAX(kind), '') FROM changes").Scan(&rows, &kind); err != nil {
			t.Fatal(err)
		}
		return rows, kind
	}
	n := sqlstore.BulkChanges + 1
	putKeys(t, s, "us-east-1", n, 0)
	if rows, kind := count(); rows != 1 || kind != store.KindApiKeys {
		t.Fatalf("change log after a bulk write: %d rows, kind %q; want 1 row of kind %s", rows, kind, store.KindApiKeys)
	}
	putKeys(t, s, "us-east-1", 2, n)
	if rows, _ := count(); rows != 3 {
		t.Fatalf("change log after a small write: %d rows, want 3", rows)
	}
}

// putKeys inserts n keys numbered from first in one Update.
func putKeys(t testing.TB, s *Store, region string, n, first int) {
	t.Helper()
	err := s.Update(context.Background(), region, func(tx store.Tx) error {
		for i := first; i < first+n; i++ {
			k := &apigw.ApiKey{ID: fmt.Sprintf("key%07d", i), Value: fmt.Sprintf("value%035d", i),
				Name: fmt.Sprintf("name-%d", i%100), Enabled: true}
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

// BenchmarkPutApiKeys10k is an ImportApiKeys of 10,000 keys: one Update, one round trip per key.
func BenchmarkPutApiKeys10k(b *testing.B) {
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		s := openFresh(b)
		b.StartTimer()
		putKeys(b, s, "us-east-1", 10_000, 0)
	}
}

// Writers queued behind a long Update do not hold pool connections: reads and quota refills
// (the data plane's) still get one. The pool has two connections; one is the running Update's.
func TestQueuedWritersDoNotStarveThePool(t *testing.T) {
	dsn := freshSchema(t)
	s := openDSN(t, dsn+"&pool_max_conns=2", Options{})
	ctx := context.Background()
	inside, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		err := s.Update(ctx, "us-east-1", func(tx store.Tx) error {
			close(inside)
			<-release
			return tx.PutApiKey(&apigw.ApiKey{ID: "k0", Value: "v0"})
		})
		if err != nil {
			t.Errorf("long Update: %v", err)
		}
	})
	<-inside
	for i := range 4 {
		wg.Go(func() {
			if err := s.Update(ctx, "us-east-1", func(tx store.Tx) error {
				return tx.PutApiKey(&apigw.ApiKey{ID: fmt.Sprint("k", i+1), Value: fmt.Sprint("v", i+1)})
			}); err != nil {
				t.Errorf("queued Update: %v", err)
			}
		})
	}
	c, cancel := context.WithTimeout(ctx, propagationDeadline)
	defer cancel()
	if err := s.View(c, "us-east-1", func(tx store.Tx) error { _, _, err := tx.ListApiKeys(store.ApiKeyFilter{}, store.Page{}); return err }); err != nil {
		t.Errorf("View while writers queue: %v", err)
	}
	if _, _, err := s.ReserveQuota(c, store.QuotaKey{Region: "r", PlanID: "p", KeyID: "k"}, 1, 10); err != nil {
		t.Errorf("ReserveQuota while writers queue: %v", err)
	}
	close(release)
	wg.Wait()
}

// CopyNew loads a clean batch whole, with seq from the column default in row order, and refuses
// a batch holding a taken pair, or a row it could not make, without writing any of it; the
// transaction goes on either way.
func TestCopyNew(t *testing.T) {
	s := openFresh(t)
	ctx := context.Background()
	pgTx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer pgTx.Rollback(ctx)
	q := newTx(ctx, pgTx, s.keys, "us-east-1", true)
	cols := []string{"plan_id", "key_id", "region", "doc"}
	row := func(key string) []any { return []any{"p1", key, "us-east-1", "{}"} }
	for _, tc := range []struct {
		name   string
		rows   [][]any
		copied bool
	}{
		{"clean", [][]any{row("k1"), row("k2"), row("k3")}, true},
		{"a pair taken", [][]any{row("k4"), row("k2")}, false},
		{"a pair twice", [][]any{row("k5"), row("k5")}, false},
		{"clean again", [][]any{row("k6")}, true},
	} {
		copied, err := q.CopyNew("usage_plan_keys", cols, len(tc.rows), func(i int) ([]any, error) { return tc.rows[i], nil })
		if err != nil || copied != tc.copied {
			t.Fatalf("%s: CopyNew = %v, %v; want %v", tc.name, copied, err, tc.copied)
		}
	}
	// A row that cannot be made ends the copy with its error, and nothing of it is written.
	boom := errors.New("boom")
	if _, err := q.CopyNew("usage_plan_keys", cols, 2, func(i int) ([]any, error) {
		if i == 1 {
			return nil, boom
		}
		return row("k7"), nil
	}); !errors.Is(err, boom) {
		t.Fatalf("CopyNew with a failing row: %v, want %v", err, boom)
	}
	rows, err := pgTx.Query(ctx, "SELECT key_id FROM usage_plan_keys ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"k1", "k2", "k3", "k6"}; !slices.Equal(got, want) {
		t.Fatalf("rows in seq order: %v, want %v", got, want)
	}
	if err := pgTx.Commit(ctx); err != nil {
		t.Fatalf("commit after refused copies: %v", err)
	}
}
