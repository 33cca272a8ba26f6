package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate/tollgate/internal/store/storetest"
)

// defaultTestDSN is the database the tests use unless TOLLGATE_TEST_POSTGRES names another: the
// local server with trust authentication that CI starts.
const defaultTestDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

var (
	reachOnce sync.Once
	reachErr  error
	schemaN   atomic.Int64
)

// testDSN returns the test database's dsn. If the server cannot be reached the test is skipped,
// unless CI=true: CI promises the service, so its absence is a failure there.
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("TOLLGATE_TEST_POSTGRES")
	if dsn == "" {
		dsn = defaultTestDSN
	}
	reachOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		reachErr = err
	})
	if reachErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s unreachable (CI=true, so this fails): %v", redact(dsn), reachErr)
		}
		t.Skipf("PostgreSQL at %s unreachable (set TOLLGATE_TEST_POSTGRES): %v", redact(dsn), reachErr)
	}
	return dsn
}

// redact hides a password in a URL dsn for messages.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxx")
			return u.String()
		}
	}
	return dsn
}

// withSearchPath returns dsn with search_path set to schema (URL or key=value form).
func withSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			panic(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// withDatabase returns dsn naming another database.
func withDatabase(dsn, db string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + db
		return u.String()
	}
	return dsn + " dbname=" + db
}

// adminExec runs one statement on its own connection to the test database.
func adminExec(t testing.TB, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// freshSchema creates an empty schema, dropped with everything in it at cleanup (registered
// first, so it runs after the stores opened on it are closed), and returns a dsn that uses it.
// Each test gets its own schema, so concurrent test runs on one database never see each other.
func freshSchema(t testing.TB) string {
	t.Helper()
	dsn := testDSN(t)
	name := fmt.Sprintf("tgtest_%d_%d_%d", os.Getpid(), schemaN.Add(1), rand.N(1_000_000))
	adminExec(t, "CREATE SCHEMA "+name)
	t.Cleanup(func() { adminExec(t, "DROP SCHEMA "+name+" CASCADE") })
	return withSearchPath(dsn, name)
}

// openDSN opens a store on dsn, closed at cleanup.
func openDSN(t testing.TB, dsn string, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, storetest.Keys, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openFresh opens a store on a fresh schema.
func openFresh(t testing.TB) *Store {
	t.Helper()
	return openDSN(t, freshSchema(t), Options{})
}

// sqlOn runs one statement on the store's own pool (so in its schema).
func sqlOn(t testing.TB, s *Store, sql string, args ...any) {
	t.Helper()
	if _, err := s.pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// waitWake waits for a wake-up on ch and returns how long it took; it fails after the deadline.
func waitWake(t testing.TB, what string, ch <-chan struct{}, deadline time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	select {
	case <-ch:
		return time.Since(start)
	case <-time.After(deadline):
		t.Fatalf("%s: no wake-up within %v", what, deadline)
		return 0
	}
}
