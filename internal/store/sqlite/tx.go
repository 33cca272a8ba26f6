package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tollgate/tollgate/internal/store"
)

// bulkChanges is the number of distinct aggregates one Update may write before its change log
// entry collapses into a single region-wide row (kind "*"): an import of 100,000 keys should
// not double its cost writing 100,000 log rows nobody reads one by one.
const bulkChanges = 256

// keepChanges is how many change rows the log keeps; older ones are pruned as new ones arrive.
const keepChanges = 10000

// Change kinds recorded in the changes table.
const (
	kindAccount      = "account"
	kindApiKey       = "apikey"
	kindUsagePlan    = "usageplan"
	kindUsagePlanKey = "usageplankey"
	kindRestApi      = "restapi"
	kindDeployment   = "deployment"
	kindStage        = "stage"
)

// errReadOnly is returned by a write inside View.
var errReadOnly = errors.New("sqlite store: write in a read-only transaction")

type changeKey struct{ kind, id string }

// tx implements store.Tx over one database/sql transaction. Statements are prepared once per
// transaction and reused, which is what makes a 100,000-key import one quick Update.
type tx struct {
	ctx    context.Context
	tx     *sql.Tx
	region string
	write  bool

	stmts map[string]*sql.Stmt

	seqLoaded bool
	seq       int64 // last allocated insertion counter
	seqDirty  bool

	changed   map[changeKey]struct{}
	changeLog []changeKey // first-write order, for deterministic change rows
}

var _ store.Tx = (*tx)(nil)

func newTx(ctx context.Context, t *sql.Tx, region string, write bool) *tx {
	return &tx{ctx: ctx, tx: t, region: region, write: write, stmts: map[string]*sql.Stmt{}}
}

// close releases the prepared statements (database/sql would on commit/rollback too; this keeps
// the driver-side statements from outliving the transaction in any case).
func (t *tx) close() {
	for _, s := range t.stmts {
		s.Close()
	}
	t.stmts = nil
}

// stmt returns the transaction's prepared statement for query.
func (t *tx) stmt(query string) (*sql.Stmt, error) {
	if s, ok := t.stmts[query]; ok {
		return s, nil
	}
	s, err := t.tx.PrepareContext(t.ctx, query)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: prepare: %w", err)
	}
	t.stmts[query] = s
	return s, nil
}

// exec runs a write statement and returns the number of rows it changed.
func (t *tx) exec(query string, args ...any) (int64, error) {
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

// query runs a read statement.
func (t *tx) query(query string, args ...any) (*sql.Rows, error) {
	s, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	rows, err := s.QueryContext(t.ctx, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	return rows, nil
}

// queryRow runs a single-row read; a missing row is store.ErrNotFound.
func (t *tx) queryRow(dest []any, query string, args ...any) error {
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

// exists reports whether query returns a row.
func (t *tx) exists(query string, args ...any) (bool, error) {
	var one int
	err := t.queryRow([]any{&one}, query, args...)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// nextSeq allocates the next insertion counter. The counter lives in the database (read once per
// transaction, written back by finish) so it survives restarts and gaps never matter.
func (t *tx) nextSeq() (int64, error) {
	if !t.seqLoaded {
		if err := t.queryRow([]any{&t.seq}, "SELECT value FROM counters WHERE name = 'seq'"); err != nil {
			return 0, fmt.Errorf("sqlite store: read counter: %w", err)
		}
		t.seqLoaded = true
	}
	t.seq++
	t.seqDirty = true
	return t.seq, nil
}

// changedAgg records that the transaction wrote the aggregate kind/id.
func (t *tx) changedAgg(kind, id string) {
	if t.changed == nil {
		t.changed = map[changeKey]struct{}{}
	}
	k := changeKey{kind, id}
	if _, ok := t.changed[k]; ok {
		return
	}
	t.changed[k] = struct{}{}
	if len(t.changeLog) <= bulkChanges {
		t.changeLog = append(t.changeLog, k)
	}
}

// finish writes the counter and the change log rows before commit and returns the last change
// sequence written (0 when the transaction changed nothing).
func (t *tx) finish() (int64, error) {
	if t.seqDirty {
		if _, err := t.exec("UPDATE counters SET value = ? WHERE name = 'seq'", t.seq); err != nil {
			return 0, err
		}
	}
	if len(t.changed) == 0 {
		return 0, nil
	}
	log := t.changeLog
	if len(t.changed) > bulkChanges {
		log = []changeKey{{kind: "*"}}
	}
	at := time.Now().UnixMilli()
	var last int64
	for _, c := range log {
		err := t.queryRow([]any{&last},
			"INSERT INTO changes (region, kind, id, at) VALUES (?, ?, ?, ?) RETURNING seq", t.region, c.kind, c.id, at)
		if err != nil {
			return 0, fmt.Errorf("sqlite store: change log: %w", err)
		}
	}
	// Pruning is an index range delete that is almost always empty: cheap enough to run always.
	if _, err := t.exec("DELETE FROM changes WHERE seq <= ?", last-keepChanges); err != nil {
		return 0, err
	}
	return last, nil
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

// decode unmarshals a stored document.
func decode(doc string, v any) error {
	if err := json.Unmarshal([]byte(doc), v); err != nil {
		return fmt.Errorf("sqlite store: corrupt document: %w", err)
	}
	return nil
}

// encode marshals a domain object for the doc column.
func encode(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("sqlite store: encode: %w", err)
	}
	return string(b), nil
}

// pageBounds turns a Page into a seq bound and a LIMIT. Newest-first lists read seq < cursor,
// creation-order lists seq > cursor; no cursor means no bound. One extra row is fetched to learn
// whether a next page exists. Limit <= 0 means no limit.
func pageBounds(p store.Page, newestFirst bool) (bound int64, limit int64, err error) {
	switch {
	case p.Cursor != "":
		bound, err = strconv.ParseInt(p.Cursor, 10, 64)
		if err != nil || bound < 0 {
			return 0, 0, fmt.Errorf("%w %q", store.ErrBadCursor, p.Cursor)
		}
	case newestFirst:
		bound = 1<<63 - 1
	default:
		bound = 0
	}
	limit = -1
	if p.Limit > 0 {
		limit = int64(p.Limit) + 1
	}
	return bound, limit, nil
}

// row is one listed document with its order key.
type row struct {
	seq int64
	rev int64
	doc string
}

// scanRows reads (seq, rev, doc) rows; queries without a rev select 0 in its place.
func scanRows(rows *sql.Rows) ([]row, error) {
	defer rows.Close()
	var out []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.seq, &r.rev, &r.doc); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// trimPage cuts the extra look-ahead row and returns the next cursor.
func trimPage(rs []row, p store.Page) ([]row, string) {
	if p.Limit > 0 && len(rs) > p.Limit {
		rs = rs[:p.Limit]
		return rs, strconv.FormatInt(rs[len(rs)-1].seq, 10)
	}
	return rs, ""
}

// decodePage decodes a page of rows into domain objects, setting Rev through setRev.
func decodePage[T any](rs []row, setRev func(*T, int64)) ([]*T, error) {
	out := make([]*T, 0, len(rs))
	for _, r := range rs {
		v := new(T)
		if err := decode(r.doc, v); err != nil {
			return nil, err
		}
		if setRev != nil {
			setRev(v, r.rev)
		}
		out = append(out, v)
	}
	return out, nil
}

// listPage runs a list query (whose last two arguments are the seq bound and the limit) and
// decodes the page.
func listPage[T any](t *tx, p store.Page, query string, args []any, setRev func(*T, int64)) ([]*T, string, error) {
	rows, err := t.query(query, args...)
	if err != nil {
		return nil, "", err
	}
	rs, err := scanRows(rows)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite store: list: %w", err)
	}
	rs, next := trimPage(rs, p)
	items, err := decodePage(rs, setRev)
	if err != nil {
		return nil, "", err
	}
	return items, next, nil
}
