package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tollgate/tollgate/internal/seal"
	"github.com/tollgate/tollgate/internal/store"
	"github.com/tollgate/tollgate/internal/store/sqlstore"
)

// errReadOnly is returned by a write inside View.
var errReadOnly = errors.New("sqlite store: write in a read-only transaction")

// dialect is how the shared queries are spelled for SQLite. Names are matched with substr, not
// LIKE: LIKE is case-insensitive in SQLite and treats % and _ specially.
var dialect = &sqlstore.Dialect{
	Name:    "sqlite store",
	NoLimit: int64(-1),
	HasPrefix: func(col, prefix string) (string, []any) {
		return "substr(" + col + ", 1, length(?)) = ?", []any{prefix, prefix}
	},
	ErrReadOnly:  errReadOnly,
	InsertIgnore: "INSERT OR IGNORE INTO",
}

// tx is the sqlstore.Querier of one database/sql transaction, under the shared store.Tx (tx.Tx).
// Statements are prepared once per transaction and reused, which is what makes a 100,000-key
// import one quick Update.
type tx struct {
	*sqlstore.Tx

	ctx    context.Context
	tx     *sql.Tx
	region string
	write  bool

	stmts map[string]*sql.Stmt
	cache *stmtCache // the pool's statements, shared by its transactions (nil: none)
	miss  []string   // queries to add to cache once the transaction is over

	seqLoaded bool
	seq       int64 // last allocated insertion counter
	seqDirty  bool
}

var _ sqlstore.Querier = (*tx)(nil)

func newTx(ctx context.Context, t *sql.Tx, cache *stmtCache, keys *seal.Keyring, region string, write bool) *tx {
	q := &tx{ctx: ctx, tx: t, cache: cache, region: region, write: write, stmts: map[string]*sql.Stmt{}}
	q.Tx = sqlstore.NewTx(dialect, q, keys, region, write)
	return q
}

// close releases the prepared statements (database/sql would on commit/rollback too; this keeps
// the driver-side statements from outliving the transaction in any case), and has the pool
// prepare the queries it did not have. Call it after the commit or rollback.
func (t *tx) close() {
	for _, s := range t.stmts {
		s.Close()
	}
	t.stmts = nil
	t.cache.prepare(t.miss)
	t.miss = nil
}

// stmt returns the transaction's prepared statement for query.
func (t *tx) stmt(query string) (*sql.Stmt, error) {
	if s, ok := t.stmts[query]; ok {
		return s, nil
	}
	var s *sql.Stmt
	if shared := t.cache.get(query); shared != nil {
		s = t.tx.StmtContext(t.ctx, shared) // closing it leaves the shared one prepared
	} else {
		var err error
		if s, err = t.tx.PrepareContext(t.ctx, query); err != nil {
			return nil, fmt.Errorf("sqlite store: prepare: %w", err)
		}
		t.miss = append(t.miss, query)
	}
	t.stmts[query] = s
	return s, nil
}

// Exec runs a write statement and returns the number of rows it changed.
func (t *tx) Exec(query string, args ...any) (int64, error) {
	if !t.write {
		return 0, errReadOnly
	}
	s, err := t.stmt(query)
	if err != nil {
		return 0, err
	}
	res, err := s.ExecContext(t.ctx, args...)
	if err != nil {
		return 0, mapErr(err)
	}
	return res.RowsAffected()
}

// Query scans every row of a read into dest, calling each after each row.
func (t *tx) Query(dest []any, each func() error, query string, args ...any) error {
	s, err := t.stmt(query)
	if err != nil {
		return err
	}
	rows, err := s.QueryContext(t.ctx, args...)
	if err != nil {
		return mapErr(err)
	}
	return scanEach(rows, dest, each)
}

// scanEach scans every row into dest, calling each after each row, and closes rows.
func scanEach(rows *sql.Rows, dest []any, each func() error) error {
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if err := each(); err != nil {
			return err
		}
	}
	return rows.Err()
}

// QueryRow runs a single-row read; a missing row is store.ErrNotFound.
func (t *tx) QueryRow(dest []any, query string, args ...any) error {
	s, err := t.stmt(query)
	if err != nil {
		return err
	}
	err = s.QueryRowContext(t.ctx, args...).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return mapErr(err)
}

// nextSeq allocates the next insertion counter. The counter lives in the database (read once per
// transaction, written back by finish) so it survives restarts and gaps never matter.
func (t *tx) nextSeq() (int64, error) {
	if !t.seqLoaded {
		if err := t.QueryRow([]any{&t.seq}, "SELECT value FROM counters WHERE name = 'seq'"); err != nil {
			return 0, fmt.Errorf("sqlite store: read counter: %w", err)
		}
		t.seqLoaded = true
	}
	t.seq++
	t.seqDirty = true
	return t.seq, nil
}

// NextSeq implements sqlstore.Querier: the counter is allocated here and bound as a parameter.
func (t *tx) NextSeq() (string, []any, error) {
	seq, err := t.nextSeq()
	if err != nil {
		return "", nil, err
	}
	return "?", []any{seq}, nil
}

// finish writes the counter and the change log rows before commit and returns them with their
// sequences, for the change tail once the transaction commits (none when it changed nothing).
func (t *tx) finish() ([]tailRow, error) {
	if t.seqDirty {
		if _, err := t.Exec("UPDATE counters SET value = ? WHERE name = 'seq'", t.seq); err != nil {
			return nil, err
		}
	}
	log := t.Changes()
	if len(log) == 0 {
		return nil, nil
	}
	at := time.Now().UnixMilli()
	rows := make([]tailRow, len(log))
	for i, c := range log {
		rows[i].c = store.Change{Region: t.region, Kind: c.Kind, ID: c.ID}
		err := t.QueryRow([]any{&rows[i].seq},
			"INSERT INTO changes (region, kind, id, at) VALUES (?, ?, ?, ?) RETURNING seq", t.region, c.Kind, c.ID, at)
		if err != nil {
			return nil, fmt.Errorf("sqlite store: change log: %w", err)
		}
	}
	// Pruning is an index range delete that is almost always empty: cheap enough to run always.
	if _, err := t.Exec("DELETE FROM changes WHERE seq <= ?", rows[len(rows)-1].seq-sqlstore.KeepChanges); err != nil {
		return nil, err
	}
	if t.KeyList() {
		if _, err := t.Exec(sqlstore.PruneKeyListsSQL); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// mapErr turns SQLite constraint violations into the store sentinels: a duplicate key is a
// conflict, a dangling reference a missing parent.
func mapErr(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return fmt.Errorf("%w: %v", store.ErrConflict, err)
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("%w: %v", store.ErrNotFound, err)
	}
	return err
}
