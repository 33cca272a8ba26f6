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

	"github.com/tollgate/tollgate/internal/seal"
	"github.com/tollgate/tollgate/internal/store"
	"github.com/tollgate/tollgate/internal/store/sqlstore"
)

// readers is the size of the View connection pool: enough for the management API and a snapshot
// rebuild to read concurrently on a small machine.
const readers = 4

// busyTimeoutMS is how long a connection waits for another process's lock before SQLITE_BUSY.
const busyTimeoutMS = 10000

// mmapSize lets connections read the start of the database through a memory map instead of a
// read(2) per page: listing 100,000 keys otherwise spends most of its time in system calls. It is
// bounded because every page read through the map stays in the process's resident memory: with
// 1 GiB, a store of a million keys kept 700 MB of its file resident after an import (1,730 B of
// RSS a key in all); with 64 MiB, 89 MB of mapped files (395 B a key), and the start, the
// import and one page of GetApiKeys took no longer. Pages past it go through SQLite's page cache.
// With every one of a million keys called, the map is full (the usage and lease writes reach
// pages all over the file); at 32 MiB TestScale measured 113 against 138 MB of mapped files
// (the usage journal's 64 MB among them). The imports of
// 100,000 keys, A/B in the same minutes, took no longer (3.6–4.0 against 3.6–4.4 s into an empty
// store, 5.8–5.9 against 5.4–6.4 s into 100,000); 16 writers spent 1,119 against 928 µs of
// server CPU a key, in runs on different minutes of a machine whose data plane alone moved by a
// tenth between them. At 16 MiB, 601 B a key and 1,424 µs.
const mmapSize = 32 << 20

// writerCacheKiB is the writer's page cache (negative = KiB for the pragma). Full, it costs
// twice that in RSS: each cached 4 KB page is a 4.3 KB allocation, which modernc's allocator
// serves from an 8 KB class. It was 64 MiB, so that a 100,000-key import would not spill dirty
// pages to the WAL before committing; since imports and key creation insert in batches under
// group commit, the smaller cache is no slower. TestScale at a million keys, 16 against 64 MiB:
// ImportApiKeys of 100,000 keys 2.51 against 3.17 s, 16 writers 1,260 against 993 keys/s (848
// against 1,066 µs of server CPU a key), RSS with every key called about 110 MB lower.
const writerCacheKiB = -16384

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("sqlite store: closed")

// Store is the SQLite implementation of store.Store.
type Store struct {
	writer *sql.DB
	reader *sql.DB
	// Statements prepared once per pool (stmtcache.go).
	writerStmts, readerStmts *stmtCache
	updates                  *updateQueue  // group commit of Updates (groupupdate.go)
	keys                     *seal.Keyring // seals API key values at rest

	gate sqlstore.Gate  // lets Close wait for the calls that got in before it
	feed *sqlstore.Feed // the last committed change sequence and the Changes subscribers
	tail changeTail     // the newest change-log rows, for ChangesSince (changetail.go)

	// The group commit of quota leases (groupcommit.go).
	quotaOps     chan *quotaOp
	commitStop   chan struct{}
	commitDone   chan struct{}
	quotaCommits atomic.Int64 // transactions the committer ran (tests and benchmarks read it)
	quotaQueued  atomic.Int64 // lease writes handed to the committer (tests read it)
}

var _ store.Store = (*Store)(nil)

// Open opens (creating it and its directory if needed) the database at path and brings its
// schema up to date. API key values are sealed under keys; rows a release before sealing wrote
// in plain text are converted here, and the plain text is then scrubbed from the file and its
// WAL.
//
// The directory is created 0700 and the database 0600 (its -wal and -shm files take the
// database's mode): they hold every key's hash and sealed value, the plans and the usage.
func Open(ctx context.Context, path string, keys *seal.Keyring) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") || path == ":memory:" {
		return nil, fmt.Errorf("sqlite store: path %q must be a plain file name", path)
	}
	if keys == nil {
		return nil, errors.New("sqlite store: a master key is required to seal API key values")
	}
	if err := privateFiles(path); err != nil {
		return nil, fmt.Errorf("sqlite store: %w", err)
	}
	// secure_delete zeroes the bytes of deleted rows instead of leaving them in free pages.
	common := fmt.Sprintf("%s?_busy_timeout=%d&_foreign_keys=1&_journal_mode=WAL&_pragma=mmap_size(%d)&_pragma=secure_delete(1)",
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
	s := &Store{writer: writer, writerStmts: newStmtCache(writer), updates: newUpdateQueue(), keys: keys, feed: sqlstore.NewFeed(ErrClosed)}
	if err := migrate(ctx, writer); err != nil {
		writer.Close()
		return nil, err
	}
	if _, err := s.sealKeys(ctx, false); err != nil {
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
	s.reader, s.readerStmts = reader, newStmtCache(reader)
	var seq int64
	if err := reader.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM changes").Scan(&seq); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite store: %w", err)
	}
	s.tail.reset(seq)
	s.feed.Observe(seq)
	s.startCommitter()
	return s, nil
}

// privateFiles creates path's directory (0700) and the database file (0600) if missing, and takes
// group and other access away from existing ones.
func privateFiles(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, st.Mode().Perm()&0o700); err != nil {
				return err
			}
		}
	}
	return nil
}

// Reseal re-encrypts every API key value under the keyring's sealing key (after a master key
// rotation) and returns how many it changed.
func (s *Store) Reseal(ctx context.Context) (int, error) {
	done, err := s.enter()
	if err != nil {
		return 0, err
	}
	defer done()
	return s.sealKeys(ctx, true)
}

// sealKeys runs sqlstore.SealKeys batch by batch, each in its own transaction. When it changed a
// row, the old bytes (plain text, or values sealed under a retired key) are scrubbed: VACUUM
// rewrites the database without them (secure_delete already zeroed the rows themselves) and a
// TRUNCATE checkpoint empties the WAL that still held the old pages.
func (s *Store) sealKeys(ctx context.Context, reseal bool) (int, error) {
	total, err := sqlstore.SealAll(func(after string) (int, string, error) {
		sqlTx, err := s.writer.BeginTx(ctx, nil)
		if err != nil {
			return 0, "", fmt.Errorf("sqlite store: begin: %w", err)
		}
		t := newTx(ctx, sqlTx, s.writerStmts, s.keys, "", true)
		n, last, err := sqlstore.SealKeys(dialect, t, s.keys, after, reseal)
		t.close()
		if err != nil {
			sqlTx.Rollback()
			return 0, "", err
		}
		if err := sqlTx.Commit(); err != nil {
			return 0, "", fmt.Errorf("sqlite store: commit: %w", err)
		}
		return n, last, nil
	})
	if err != nil {
		return total, err
	}
	if total > 0 {
		for _, stmt := range []string{"VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"} {
			if _, err := s.writer.ExecContext(ctx, stmt); err != nil {
				return total, fmt.Errorf("sqlite store: scrub after sealing keys: %s: %w", stmt, err)
			}
		}
	}
	return total, nil
}

// enter registers a call so Close waits for it; the returned func ends it.
func (s *Store) enter() (func(), error) {
	return s.gate.Enter(ErrClosed)
}

// View runs fn in a read-only transaction over one consistent snapshot.
func (s *Store) View(ctx context.Context, region string, fn func(store.Tx) error) error {
	return s.view(ctx, s.reader, &sql.TxOptions{ReadOnly: true}, s.readerStmts, region, fn)
}

// view runs fn in a transaction of db that it rolls back: no statement of fn writes (the Tx
// refuses them).
func (s *Store) view(ctx context.Context, db *sql.DB, opts *sql.TxOptions, stmts *stmtCache, region string, fn func(store.Tx) error) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	sqlTx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("sqlite store: begin: %w", err)
	}
	t := newTx(ctx, sqlTx, stmts, s.keys, region, false)
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
	s.readerStmts.close()
	s.writerStmts.close()
	var errs []error
	if s.reader != nil {
		errs = append(errs, s.reader.Close())
	}
	errs = append(errs, s.writer.Close())
	return errors.Join(errs...)
}

var _ store.ChangeLog = (*Store)(nil)

// ChangesSince reads the change log after seq (store.ChangeLog). SQLite has one writer, so
// sequence order is commit order and no committed change can appear below a sequence already
// read.
func (s *Store) ChangesSince(ctx context.Context, seq int64, max int) ([]store.Change, int64, bool, error) {
	leave, err := s.enter()
	if err != nil {
		return nil, 0, false, err
	}
	defer leave()
	if out, last, complete, ok := s.tail.since(seq, max); ok {
		return out, last, complete, nil
	}
	// One statement, one snapshot: the oldest row kept and the rows after seq, prepared once
	// (stmtcache.go).
	const q = `SELECT seq, region, kind, id, (SELECT COALESCE(MIN(seq), 0) FROM changes)
		FROM changes WHERE seq > ? ORDER BY seq LIMIT ?`
	var rows *sql.Rows
	if st := s.readerStmts.get(q); st != nil {
		rows, err = st.QueryContext(ctx, seq, max+1)
	} else {
		rows, err = s.reader.QueryContext(ctx, q, seq, max+1)
		s.readerStmts.prepare([]string{q})
	}
	if err != nil {
		return nil, 0, false, fmt.Errorf("sqlite store: change log: %w", err)
	}
	defer rows.Close()
	var out []store.Change
	last, complete := seq, true
	for rows.Next() {
		var c store.Change
		var n, oldest int64
		if err := rows.Scan(&n, &c.Region, &c.Kind, &c.ID, &oldest); err != nil {
			return nil, 0, false, fmt.Errorf("sqlite store: change log: %w", err)
		}
		if oldest > seq+1 || c.Kind == "*" || len(out) == max {
			complete = false
		}
		out, last = append(out, c), n
	}
	return out, last, complete, rows.Err()
}

// ViewWritten runs fn in a read transaction on the writer's connection, which sees every
// committed write. It is for the small reads that follow a write at once (the data plane's
// syncer reloading the keys a write touched): a reader connection drops its whole page cache
// whenever another connection has written since its last transaction, so there every such read
// walked its indexes cold, through system calls past the memory map; the writer's cache holds
// the pages the write just touched. It queues behind the writes in progress like one.
func (s *Store) ViewWritten(ctx context.Context, region string, fn func(store.Tx) error) error {
	return s.view(ctx, s.writer, nil, s.writerStmts, region, fn)
}
