// Package postgres is Tollgate's shared store backend: every node of a cluster points at the same
// PostgreSQL database (through github.com/jackc/pgx/v5) and sees one configuration, one set of
// quota reservations and one usage count.
//
// Semantics are the SQLite backend's, deliberately: writers are serialized by a transaction-scoped
// advisory lock taken as the first statement of every Update (SQLite's single writer, made
// cluster-wide), and each statement after it runs at READ COMMITTED, so it sees every commit
// that preceded the lock. An Update therefore reads the latest state, its Rev checks are exact,
// its existence checks cannot race a concurrent delete, and the change sequence it allocates is
// in commit order. Reads (View) run at REPEATABLE READ, READ ONLY: one consistent snapshot,
// never blocked by writers. Configuration writes are rare, so one writer at a time costs nothing
// that matters; the hot counters (quota leases, usage) do not take the lock at all: each is one
// atomic statement.
//
// Change propagation: an Update inserts change rows and calls pg_notify in the same transaction,
// so the notification goes out if and only if the commit happened. Each Store listens on a
// dedicated connection (reconnecting with backoff) and also polls the newest change sequence
// every Options.PollInterval as a safety net; see changes.go.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tollgate/tollgate/internal/seal"
	"github.com/tollgate/tollgate/internal/store"
	"github.com/tollgate/tollgate/internal/store/sqlstore"
)

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("postgres store: closed")

// DefaultPollInterval is how often a Store re-reads the newest change sequence when no
// notification arrived: the bound on propagation delay when LISTEN/NOTIFY is broken.
const DefaultPollInterval = 2 * time.Second

// maxAttempts bounds the retries of a transaction that failed with a serialization failure or a
// deadlock (neither should happen under the write lock; they are retried in case they do).
const maxAttempts = 8

// idleInTxTimeout aborts a session that sits inside a transaction this long without sending a
// statement: a node that hangs (or is partitioned away) while holding the write lock must not
// block every other node's writes for longer than that.
const idleInTxTimeout = "60s"

// defaultMaxConns is the pool size unless the dsn sets pool_max_conns.
const defaultMaxConns = 8

// Options tune a Store; the zero value is the production setting.
type Options struct {
	// PollInterval is the period of the change-sequence safety-net poll (default 2s).
	PollInterval time.Duration
	// ListenBackoffMax caps the delay between LISTEN reconnection attempts (default 5s).
	ListenBackoffMax time.Duration
	// ListenCheck is how long the listener waits for a notification before pinging its
	// connection (default 30s): a connection that died silently (a partition, a dropped NAT
	// entry) would otherwise leave it deaf until TCP keepalive noticed, with only the poll
	// delivering changes meanwhile.
	ListenCheck time.Duration
}

// Store is the PostgreSQL implementation of store.Store, store.Counters and store.Membership.
type Store struct {
	keys    *seal.Keyring // seals API key values at rest; every node must hold the same keys
	pool    *pgxpool.Pool
	connCfg *pgx.ConnConfig // for the dedicated LISTEN connection
	opts    Options

	schema    string // current_schema() of the pool's sessions: scopes notifications
	writeLock int64  // advisory lock key serializing Updates (per schema)

	writer  chan struct{} // a one-slot semaphore: this node's Updates, one at a time
	analyze chan struct{} // a one-slot queue: tables to sample again after a bulk write

	gate sqlstore.Gate  // lets Close wait for the calls that got in before it
	feed *sqlstore.Feed // newest change sequence this Store has seen committed; subscribers

	listenPID    atomic.Uint32 // backend pid of the LISTEN session (tests kill it)
	listenChecks atomic.Int64  // successful liveness pings of the LISTEN session

	done chan struct{} // closed by Close: stops the listener and the poller
	bg   sync.WaitGroup
}

var (
	_ store.Store      = (*Store)(nil)
	_ store.Counters   = (*Store)(nil)
	_ store.Membership = (*Store)(nil)
)

// Open connects to the database named by dsn (a postgres:// URL or a key=value string; pgxpool
// options such as pool_max_conns are accepted), applies the embedded migrations and starts
// listening for changes. Tables live in the session's current schema (set search_path in the dsn
// to use another than public; the schema must exist). API key values are sealed under keys,
// which every node sharing the database must hold; rows written in plain text by a release
// before sealing are converted here.
func Open(ctx context.Context, dsn string, keys *seal.Keyring, opts Options) (*Store, error) {
	if keys == nil {
		return nil, errors.New("postgres store: a master key is required to seal API key values")
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.ListenBackoffMax <= 0 {
		opts.ListenBackoffMax = 5 * time.Second
	}
	if opts.ListenCheck <= 0 {
		opts.ListenCheck = 30 * time.Second
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres store: %w", err)
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		// pgxpool's default (max(4, CPUs)) queues quota refills for many keys behind each
		// other on a small machine; a few more connections cost the server little.
		cfg.MaxConns = max(cfg.MaxConns, defaultMaxConns)
	}
	params := cfg.ConnConfig.RuntimeParams
	if _, ok := params["idle_in_transaction_session_timeout"]; !ok {
		params["idle_in_transaction_session_timeout"] = idleInTxTimeout
	}
	// Durability at commit is the contract (quota reservations rely on it); a server configured
	// with synchronous_commit=off would silently break it. A dsn may still ask for a stronger
	// level (remote_apply).
	if _, ok := params["synchronous_commit"]; !ok {
		params["synchronous_commit"] = "on"
	}
	if _, ok := params["application_name"]; !ok {
		params["application_name"] = "tollgate"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres store: %w", err)
	}
	s := &Store{keys: keys, pool: pool, connCfg: cfg.ConnConfig.Copy(), opts: opts,
		writer: make(chan struct{}, 1), analyze: make(chan struct{}, 1), feed: sqlstore.NewFeed(ErrClosed), done: make(chan struct{})}
	var schema *string
	var migrateLock int64
	err = pool.QueryRow(ctx, `SELECT current_schema(),
		hashtextextended('tollgate:write:' || COALESCE(current_schema(), ''), 0),
		hashtextextended('tollgate:migrate:' || COALESCE(current_schema(), ''), 0)`).Scan(&schema, &s.writeLock, &migrateLock)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres store: connect: %w", err)
	}
	if schema == nil {
		pool.Close()
		return nil, errors.New("postgres store: no schema on the search_path exists (create it, or fix search_path)")
	}
	s.schema = *schema
	if err := migrate(ctx, pool, migrateLock); err != nil {
		pool.Close()
		return nil, err
	}
	if _, err := s.sealKeys(ctx, false); err != nil {
		pool.Close()
		return nil, err
	}
	// Listen before reading the sequence: a commit in between is then either in the read or
	// notified, never lost.
	conn, err := s.listen(ctx)
	if err != nil {
		pool.Close()
		return nil, err
	}
	seq, err := s.readSeq(ctx)
	if err != nil {
		conn.Close(context.Background())
		pool.Close()
		return nil, err
	}
	s.feed.Observe(seq)
	s.bg.Add(3)
	go s.listenLoop(conn)
	go s.pollLoop()
	go s.analyzeLoop()
	return s, nil
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

// sealKeys runs sqlstore.SealKeys batch by batch, each in its own transaction under the write
// lock (so it never races a node's PutApiKey on the same row). When it changed a row, VACUUM FULL
// rewrites the table so the old row versions (plain text, or values sealed under a retired key)
// do not linger as dead tuples. Backups and WAL archives taken before keep what they held.
func (s *Store) sealKeys(ctx context.Context, reseal bool) (int, error) {
	total, err := sqlstore.SealAll(func(after string) (int, string, error) { return s.sealBatch(ctx, after, reseal) })
	if err != nil {
		return total, err
	}
	if total > 0 {
		if _, err := s.pool.Exec(ctx, "VACUUM FULL api_keys"); err != nil {
			return total, fmt.Errorf("postgres store: scrub after sealing keys: %w", err)
		}
	}
	return total, nil
}

func (s *Store) sealBatch(ctx context.Context, after string, reseal bool) (int, string, error) {
	pgTx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return 0, "", fmt.Errorf("postgres store: begin: %w", err)
	}
	defer pgTx.Rollback(context.Background())
	if _, err := pgTx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", s.writeLock); err != nil {
		return 0, "", fmt.Errorf("postgres store: write lock: %w", err)
	}
	n, last, err := sqlstore.SealKeys(dialect, newTx(ctx, pgTx, s.keys, "", true), s.keys, after, reseal)
	if err != nil {
		return 0, "", err
	}
	if err := pgTx.Commit(ctx); err != nil {
		return 0, "", fmt.Errorf("postgres store: commit: %w", err)
	}
	return n, last, nil
}

// enter registers a call so Close waits for it; the returned func ends it.
func (s *Store) enter() (func(), error) {
	return s.gate.Enter(ErrClosed)
}

// Update runs fn in a READ COMMITTED transaction that first takes the store's write lock (see the
// package doc); the commit is durable before Update returns nil. fn runs again only if the
// transaction failed with a serialization failure or deadlock, which the lock makes unexpected.
func (s *Store) Update(ctx context.Context, region string, fn func(store.Tx) error) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	// Queue this node's writers here rather than in PostgreSQL: a writer waiting for the
	// cluster-wide lock holds a pool connection, and a queue of them must not starve the reads
	// and quota refills that share the pool.
	select {
	case s.writer <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.writer }()
	var bulk bool
	err = retry(ctx, func() error {
		var last int64
		var err error
		last, bulk, err = s.update(ctx, region, fn)
		if err == nil && last > 0 {
			s.observe(last)
		}
		return err
	})
	if err == nil && bulk {
		select {
		case s.analyze <- struct{}{}:
		default: // one is queued already, and it will see this write
		}
	}
	return err
}

// analyzeDelay is how long after a bulk write its tables are sampled again (see analyzeLoop).
const analyzeDelay = time.Second

// untilClosed returns the context of a background loop: cancelled when Close begins (or by
// cancel, which the loop defers).
func (s *Store) untilClosed() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { // ends with the loop (cancel) or when Close begins, whichever is first
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// analyzeLoop samples api_keys and usage_plan_keys again after each bulk write (an import),
// in the background. A bulk write can multiply a table's rows before autovacuum samples them,
// and until then the planner costs the paging queries for the old sizes: one page of
// GetUsagePlanKeys took 266 ms right after a 100,000-key import. ANALYZE takes a quarter of a
// second at that size, so the import's caller does not wait for it, and it starts analyzeDelay
// after the write: first come the snapshot rebuilds the write sets off on every node, which read
// the tables whole whatever the statistics say, and which ran 0.15–0.3 s slower beside it.
func (s *Store) analyzeLoop() {
	defer s.bg.Done()
	ctx, cancel := s.untilClosed()
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.analyze:
			select {
			case <-time.After(analyzeDelay):
			case <-ctx.Done():
				return
			}
			if _, err := s.pool.Exec(ctx, "ANALYZE api_keys, usage_plan_keys"); err != nil && ctx.Err() == nil {
				slog.Warn("postgres store: analyze after a bulk write", "err", err)
			}
		}
	}
}

func (s *Store) update(ctx context.Context, region string, fn func(store.Tx) error) (last int64, bulk bool, err error) {
	pgTx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return 0, false, fmt.Errorf("postgres store: begin: %w", err)
	}
	defer pgTx.Rollback(context.Background())
	if _, err := pgTx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", s.writeLock); err != nil {
		return 0, false, fmt.Errorf("postgres store: write lock: %w", err)
	}
	t := newTx(ctx, pgTx, s.keys, region, true)
	if err := fn(t.Tx); err != nil {
		return 0, false, err
	}
	last, err = t.finish(s.schema)
	if err != nil {
		return 0, false, err
	}
	if err := pgTx.Commit(ctx); err != nil {
		return 0, false, fmt.Errorf("postgres store: commit: %w", err)
	}
	return last, t.Bulk(), nil
}

// View runs fn in a read-only REPEATABLE READ transaction: one consistent snapshot.
func (s *Store) View(ctx context.Context, region string, fn func(store.Tx) error) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	pgTx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("postgres store: begin: %w", err)
	}
	defer pgTx.Rollback(context.Background())
	return fn(newTx(ctx, pgTx, s.keys, region, false).Tx)
}

// Regions lists, sorted bytewise, the regions that hold any state (see sqlstore.RegionsSQL).
func (s *Store) Regions(ctx context.Context) ([]string, error) {
	done, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	rows, err := s.pool.Query(ctx, sqlstore.RegionsSQL("(%s)"))
	if err != nil {
		return nil, fmt.Errorf("postgres store: regions: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres store: regions: %w", err)
	}
	sort.Strings(out)
	return out, nil
}

// Close waits for the calls in progress, stops listening and polling, closes the Changes
// channels and the pool. Calls made after Close return ErrClosed.
func (s *Store) Close() error {
	if !s.gate.Close() {
		return nil
	}
	close(s.done)
	s.bg.Wait()
	s.feed.Close()
	s.pool.Close()
	return nil
}

// retryable reports whether err is a transient conflict after which the whole transaction may
// simply run again: serialization failure (40001) or deadlock detected (40P01).
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// retry runs op until it succeeds, fails with a non-retryable error, or maxAttempts is reached,
// sleeping a short jittered backoff between attempts so that the colliding transactions do not
// collide again in lockstep.
func retry(ctx context.Context, op func() error) error {
	var err error
	for attempt := range maxAttempts {
		if err = op(); err == nil || !retryable(err) {
			return err
		}
		backoff := time.Duration(1<<attempt) * time.Millisecond
		backoff += rand.N(backoff)
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(backoff):
		}
	}
	return err
}
