package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tollgate/tollgate/internal/store"
)

// bulkChanges is the number of distinct aggregates one Update may write before its change log
// entry collapses into a single region-wide row (kind "*"): an import of 100,000 keys should
// not write 100,000 log rows nobody reads one by one.
const bulkChanges = 256

// keepChanges is how many change rows the log keeps; older ones are pruned as new ones arrive.
const keepChanges = 10000

// notifyChannel is the LISTEN/NOTIFY channel of change notifications. It is shared by every
// schema of a database; payloads are "<schema>:<seq>" so each Store ignores the others'.
const notifyChannel = "tollgate_changes"

// Change kinds recorded in the changes table (the same as the SQLite backend's).
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
var errReadOnly = errors.New("postgres store: write in a read-only transaction")

type changeKey struct{ kind, id string }

// tx implements store.Tx over one pgx transaction. pgx caches a prepared statement per query text
// and connection, so repeated calls (a 100,000-key import) cost one round trip each.
//
// No statement issued here is expected to fail on a constraint: inserts use ON CONFLICT DO
// NOTHING and updates guard their uniqueness in the WHERE clause, and the write lock rules out
// races with other writers. That matters because an error aborts a PostgreSQL transaction, while
// callers rely on getting ErrConflict and carrying on in the same transaction (retrying a
// generated id, for instance).
type tx struct {
	ctx    context.Context
	tx     pgx.Tx
	region string
	write  bool

	changed   map[changeKey]struct{}
	changeLog []changeKey // first-write order, for deterministic change rows
}

var _ store.Tx = (*tx)(nil)

// exec runs a write statement and returns the number of rows it changed.
func (t *tx) exec(query string, args ...any) (int64, error) {
	if !t.write {
		return 0, errReadOnly
	}
	tag, err := t.tx.Exec(t.ctx, query, args...)
	if err != nil {
		return 0, mapErr(err)
	}
	return tag.RowsAffected(), nil
}

// queryRow runs a single-row read; a missing row is store.ErrNotFound.
func (t *tx) queryRow(dest []any, query string, args ...any) error {
	err := t.tx.QueryRow(t.ctx, query, args...).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
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
	if len(t.changed) == 0 {
		return 0, nil
	}
	log := t.changeLog
	if len(t.changed) > bulkChanges {
		log = []changeKey{{kind: "*"}}
	}
	kinds := make([]string, len(log))
	ids := make([]string, len(log))
	for i, c := range log {
		kinds[i], ids[i] = c.kind, c.id
	}
	var last int64
	var ignored string
	err := t.tx.QueryRow(t.ctx, finishSQL, t.region, kinds, ids, keepChanges, notifyChannel, schema).Scan(&last, &ignored)
	if err != nil {
		return 0, fmt.Errorf("postgres store: change log: %w", err)
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

// decode unmarshals a stored document.
func decode(doc string, v any) error {
	if err := json.Unmarshal([]byte(doc), v); err != nil {
		return fmt.Errorf("postgres store: corrupt document: %w", err)
	}
	return nil
}

// encode marshals a domain object for the doc column.
func encode(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("postgres store: encode: %w", err)
	}
	return string(b), nil
}

// pageBounds turns a Page into a seq bound and a LIMIT. Newest-first lists read seq < cursor,
// creation-order lists seq > cursor; no cursor means no bound. One extra row is fetched to learn
// whether a next page exists. Limit <= 0 means no limit (a NULL LIMIT).
func pageBounds(p store.Page, newestFirst bool) (bound int64, limit *int64, err error) {
	switch {
	case p.Cursor != "":
		bound, err = strconv.ParseInt(p.Cursor, 10, 64)
		if err != nil || bound < 0 {
			return 0, nil, fmt.Errorf("%w %q", store.ErrBadCursor, p.Cursor)
		}
	case newestFirst:
		bound = 1<<63 - 1
	default:
		bound = 0
	}
	if p.Limit > 0 {
		n := int64(p.Limit) + 1
		limit = &n
	}
	return bound, limit, nil
}

// row is one listed document with its order key.
type row struct {
	seq int64
	rev int64
	doc string
}

// listPage runs a list query (whose last two arguments are the seq bound and the limit, and
// which selects seq, rev, doc) and decodes the page, setting Rev through setRev.
func listPage[T any](t *tx, p store.Page, query string, args []any, setRev func(*T, int64)) ([]*T, string, error) {
	rows, err := t.tx.Query(t.ctx, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("postgres store: list: %w", err)
	}
	var rs []row
	var r row
	_, err = pgx.ForEachRow(rows, []any{&r.seq, &r.rev, &r.doc}, func() error {
		rs = append(rs, r)
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("postgres store: list: %w", err)
	}
	next := ""
	if p.Limit > 0 && len(rs) > p.Limit {
		rs = rs[:p.Limit]
		next = strconv.FormatInt(rs[len(rs)-1].seq, 10)
	}
	out := make([]*T, 0, len(rs))
	for _, r := range rs {
		v := new(T)
		if err := decode(r.doc, v); err != nil {
			return nil, "", err
		}
		if setRev != nil {
			setRev(v, r.rev)
		}
		out = append(out, v)
	}
	return out, next, nil
}
