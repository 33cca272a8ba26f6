package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tollgate/tollgate/internal/seal"
	"github.com/tollgate/tollgate/internal/store"
	"github.com/tollgate/tollgate/internal/store/sqlstore"
)

// notifyChannel is the LISTEN/NOTIFY channel of change notifications. It is shared by every
// schema of a database; payloads are "<schema>:<seq>" so each Store ignores the others'.
const notifyChannel = "tollgate_changes"

// errReadOnly is returned by a write inside View.
var errReadOnly = errors.New("postgres store: write in a read-only transaction")

// dialect is how the shared queries are spelled for PostgreSQL: numbered placeholders (the
// querier rewrites them), a NULL LIMIT for none, and starts_with, a literal, case-sensitive
// prefix test (LIKE would give % and _ a meaning).
var dialect = &sqlstore.Dialect{
	Name:    "postgres store",
	NoLimit: nil,
	HasPrefix: func(col, prefix string) (string, []any) {
		return "starts_with(" + col + ", ?)", []any{prefix}
	},
	ErrReadOnly: errReadOnly,
}

// numbered caches the $n spelling of each shared query text: the set is small and fixed, and
// a 100,000-key import should not rewrite the same text 100,000 times.
var numbered sync.Map // string -> string

func rebind(query string) string {
	if q, ok := numbered.Load(query); ok {
		return q.(string)
	}
	q := sqlstore.Numbered(query)
	numbered.Store(query, q)
	return q
}

// tx is the sqlstore.Querier of one pgx transaction, under the shared store.Tx (tx.Tx). pgx
// caches a prepared statement per query text and connection, so repeated calls (a 100,000-key
// import) cost one round trip each.
//
// No statement issued here is expected to fail on a constraint: inserts use ON CONFLICT DO
// NOTHING and updates guard their uniqueness in the WHERE clause, and the write lock rules out
// races with other writers. That matters because an error aborts a PostgreSQL transaction, while
// callers rely on getting ErrConflict and carrying on in the same transaction (retrying a
// generated id, for instance).
type tx struct {
	*sqlstore.Tx

	ctx    context.Context
	tx     pgx.Tx
	region string
	write  bool
}

var _ sqlstore.Querier = (*tx)(nil)

func newTx(ctx context.Context, t pgx.Tx, keys *seal.Keyring, region string, write bool) *tx {
	q := &tx{ctx: ctx, tx: t, region: region, write: write}
	q.Tx = sqlstore.NewTx(dialect, q, keys, region, write)
	return q
}

// Exec runs a write statement and returns the number of rows it changed.
func (t *tx) Exec(query string, args ...any) (int64, error) {
	if !t.write {
		return 0, errReadOnly
	}
	tag, err := t.tx.Exec(t.ctx, rebind(query), args...)
	if err != nil {
		return 0, mapErr(err)
	}
	return tag.RowsAffected(), nil
}

// QueryRow runs a single-row read; a missing row is store.ErrNotFound.
func (t *tx) QueryRow(dest []any, query string, args ...any) error {
	err := t.tx.QueryRow(t.ctx, rebind(query), args...).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	return mapErr(err)
}

// Query scans every row of a read into dest, calling each after each row.
func (t *tx) Query(dest []any, each func() error, query string, args ...any) error {
	rows, err := t.tx.Query(t.ctx, rebind(query), args...)
	if err != nil {
		return mapErr(err)
	}
	_, err = pgx.ForEachRow(rows, dest, each)
	return mapErr(err)
}

// NextSeq implements sqlstore.Querier: the insertion counter is the item_seq sequence.
func (t *tx) NextSeq() (string, []any, error) {
	return "nextval('item_seq')", nil, nil
}

var _ sqlstore.Copier = (*tx)(nil)

// CopyNew loads rows with COPY (sqlstore.Copier) inside a savepoint: COPY has no ON CONFLICT,
// and a unique violation would abort the whole transaction, so a collision rolls back to the
// savepoint and reports false for the caller's INSERT … ON CONFLICT DO NOTHING to take over.
// Collisions are rare (an import's value that exists already), so the savepoint is what the
// fast path pays for being exact.
func (t *tx) CopyNew(table string, columns []string, n int, row func(int) ([]any, error)) (bool, error) {
	if !t.write {
		return false, errReadOnly
	}
	sp, err := t.tx.Begin(t.ctx)
	if err != nil {
		return false, fmt.Errorf("postgres store: savepoint: %w", err)
	}
	src := &lazyRows{n: n, row: row}
	if _, err := sp.CopyFrom(t.ctx, pgx.Identifier{table}, columns, src); err != nil {
		if rerr := sp.Rollback(t.ctx); rerr != nil {
			return false, fmt.Errorf("postgres store: copy: %w (rollback to savepoint: %v)", err, rerr)
		}
		if src.err != nil {
			return false, src.err // the server's error only quotes it
		}
		if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "23505" { // unique_violation
			return false, nil
		}
		return false, fmt.Errorf("postgres store: copy: %w", err)
	}
	if err := sp.Commit(t.ctx); err != nil {
		return false, fmt.Errorf("postgres store: release savepoint: %w", err)
	}
	return true, nil
}

// lazyRows is the pgx.CopyFromSource of CopyNew: pgx asks for each row on the goroutine that
// encodes the COPY stream while the connection sends what it has, so a row is made while the
// server takes the ones before it.
type lazyRows struct {
	n, i int
	row  func(int) ([]any, error)
	vals []any
	err  error
}

func (r *lazyRows) Next() bool {
	if r.err != nil || r.i == r.n {
		return false
	}
	r.vals, r.err = r.row(r.i)
	r.i++
	return r.err == nil
}

func (r *lazyRows) Values() ([]any, error) { return r.vals, r.err }
func (r *lazyRows) Err() error             { return r.err }

// finishSQL writes the change rows, prunes the old ones and notifies, in one round trip. The
// notification is queued by the transaction and sent by PostgreSQL only if it commits.
// Data-modifying CTEs run to completion whether or not the main query reads them.
const finishSQL = `WITH ins AS (
	INSERT INTO changes (region, kind, id)
	SELECT $1, k, i FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS u(k, i, o) ORDER BY o
	RETURNING seq
), last AS (SELECT MAX(seq) AS seq FROM ins),
pruned AS (DELETE FROM changes WHERE seq <= (SELECT seq FROM last) - $4)
SELECT seq, pg_notify($5, $6::text || ':' || seq::text)::text FROM last`

// finish writes the change log rows and the notification before commit and returns the last
// change sequence written (0 when the transaction changed nothing).
func (t *tx) finish(schema string) (int64, error) {
	log := t.Changes()
	if len(log) == 0 {
		return 0, nil
	}
	kinds := make([]string, len(log))
	ids := make([]string, len(log))
	for i, c := range log {
		kinds[i], ids[i] = c.Kind, c.ID
	}
	var last int64
	var ignored string
	err := t.tx.QueryRow(t.ctx, finishSQL, t.region, kinds, ids, sqlstore.KeepChanges, notifyChannel, schema).Scan(&last, &ignored)
	if err != nil {
		return 0, fmt.Errorf("postgres store: change log: %w", err)
	}
	if t.KeyList() {
		if _, err := t.tx.Exec(t.ctx, sqlstore.PruneKeyListsSQL); err != nil {
			return 0, fmt.Errorf("postgres store: change log: %w", err)
		}
	}
	return last, nil
}

// mapErr turns constraint violations into the store sentinels: a duplicate key is a conflict, a
// dangling reference a missing parent. (Neither is expected, see tx; this keeps the meaning
// right if one happens anyway.)
func mapErr(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case "23505": // unique_violation
		return fmt.Errorf("%w: %v", store.ErrConflict, err)
	case "23503": // foreign_key_violation
		return fmt.Errorf("%w: %v", store.ErrNotFound, err)
	}
	return err
}
