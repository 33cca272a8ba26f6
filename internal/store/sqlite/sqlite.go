// Package sqlite is Tollgate's embedded store backend: a single SQLite file in WAL mode, through
// the pure-Go modernc.org/sqlite driver so the binary needs no cgo.
//
// Writes go through one connection (SQLite allows one writer at a time anyway; a single
// connection turns lock contention into an orderly queue in database/sql) and start with BEGIN
// IMMEDIATE, so a transaction never has to upgrade a read lock and fail with SQLITE_BUSY halfway.
// synchronous=FULL makes every commit durable before Update returns. Reads use a small pool of
// query_only connections, each View seeing one WAL snapshot.
//
// The per-aggregate queries live in internal/store/sqlstore, shared with the PostgreSQL backend
// (so they keep to SQL both accept: ON CONFLICT DO NOTHING, no INSERT OR REPLACE); SQLite-only
// matters (DSN pragmas, the single writer, the insertion counter, error codes) stay here.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/tollgate/tollgate/internal/store"
	"github.com/tollgate/tollgate/internal/store/sqlstore"
)

// readers is the size of the View connection pool: enough for the management API and a snapshot
// rebuild to read concurrently on a small machine.
const readers = 4

// busyTimeoutMS is how long a connection waits for another process's lock before SQLITE_BUSY.
const busyTimeoutMS = 10000

// mmapSize lets connections read the database through a memory map instead of a read(2) per page:
// listing 100,000 keys otherwise spends most of its time in system calls.
const mmapSize = 1 << 30

// writerCacheKiB is the writer's page cache (negative = KiB for the pragma): large enough that a
// 100,000-key import does not spill dirty pages to the WAL before it commits.
const writerCacheKiB = -65536

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("sqlite store: closed")

// Store is the SQLite implementation of store.Store.
type Store struct {
	writer *sql.DB
	reader *sql.DB

	gate sqlstore.Gate  // lets Close wait for the calls that got in before it
	feed *sqlstore.Feed // the last committed change sequence and the Changes subscribers

	// The group commit of quota leases (groupcommit.go).
	quotaOps     chan *quotaOp
	commitStop   chan struct{}
	commitDone   chan struct{}
	quotaCommits atomic.Int64 // transactions the committer ran (tests and benchmarks read it)
}

var _ store.Store = (*Store)(nil)

// Open opens (creating it and its directory if needed) the database at path and brings its
// schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") || path == ":memory:" {
		return nil, fmt.Errorf("sqlite store: path %q must be a plain file name", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("sqlite store: %w", err)
		}
	}
	common := fmt.Sprintf("%s?_busy_timeout=%d&_foreign_keys=1&_journal_mode=WAL&_pragma=mmap_size(%d)",
		path, busyTimeoutMS, mmapSize)
	writer, err := sql.Open("sqlite", fmt.Sprintf("%s&_synchronous=FULL&_txlock=immediate&_pragma=cache_size(%d)",
		common, writerCacheKiB))
	if err != nil {
		return nil, fmt.Errorf("sqlite store: %w", err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	s := &Store{writer: writer, feed: sqlstore.NewFeed(ErrClosed)}
	if err := migrate(ctx, writer); err != nil {
		writer.Close()
		return nil, err
	}
	reader, err := sql.Open("sqlite", common+"&_query_only=1")
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite store: %w", err)
	}
	reader.SetMaxOpenConns(readers)
	reader.SetMaxIdleConns(readers)
	reader.SetConnMaxIdleTime(0)
	s.reader = reader
	var seq int64
	if err := reader.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM changes").Scan(&seq); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite store: %w", err)
	}
	s.feed.Observe(seq)
	s.startCommitter()
	return s, nil
}

// enter registers a call so Close waits for it; the returned func ends it.
func (s *Store) enter() (func(), error) {
	return s.gate.Enter(ErrClosed)
}

// Update runs fn in a BEGIN IMMEDIATE transaction; the commit is durable (synchronous=FULL)
// before Update returns nil. SQLite has a single writer, so fn runs exactly once.
func (s *Store) Update(ctx context.Context, region string, fn func(store.Tx) error) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	sqlTx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite store: begin: %w", err)
	}
	t := newTx(ctx, sqlTx, region, true)
	defer t.close()
	if err := fn(t.Tx); err != nil {
		sqlTx.Rollback()
		return err
	}
	last, err := t.finish()
	if err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("sqlite store: commit: %w", err)
	}
	if last > 0 {
		s.feed.Observe(last)
	}
	return nil
}

// View runs fn in a read-only transaction over one consistent snapshot.
func (s *Store) View(ctx context.Context, region string, fn func(store.Tx) error) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	sqlTx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlite store: begin: %w", err)
	}
	t := newTx(ctx, sqlTx, region, false)
	defer t.close()
	defer sqlTx.Rollback()
	return fn(t.Tx)
}

// Regions lists, sorted, the regions that hold any state (see sqlstore.RegionsSQL).
func (s *Store) Regions(ctx context.Context) ([]string, error) {
	done, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	// SQLite takes a WITH clause inside a compound SELECT only as a subquery.
	rows, err := s.reader.QueryContext(ctx, sqlstore.RegionsSQL("SELECT * FROM (%s)")+" ORDER BY 1")
	if err != nil {
		return nil, fmt.Errorf("sqlite store: regions: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, fmt.Errorf("sqlite store: regions: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Changes returns the current change sequence and a channel woken (coalesced: it has a buffer of
// one and sends never block) after every commit that wrote something. The channel is closed when
// ctx ends or the store closes. Only commits made through this Store wake it; SQLite is a
// single-process backend.
func (s *Store) Changes(ctx context.Context) (int64, <-chan struct{}, error) {
	return s.feed.Subscribe(ctx)
}

// Close waits for the Update and View calls in progress, then closes the database and the
// Changes channels. Calls made after Close return ErrClosed.
func (s *Store) Close() error {
	if !s.gate.Close() {
		return nil
	}
	s.stopCommitter() // nobody can be waiting for it once the gate has closed
	s.feed.Close()
	var errs []error
	if s.reader != nil {
		errs = append(errs, s.reader.Close())
	}
	errs = append(errs, s.writer.Close())
	return errors.Join(errs...)
}
