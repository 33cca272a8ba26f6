// Package sqlstore holds what the SQL store backends (sqlite, postgres) share: the per-aggregate
// query logic of store.Tx, the JSON documents the rows carry, paging and cursors, the change
// log bookkeeping of a transaction and the loading of embedded migrations. It is written once
// against Querier, which each backend implements over its own driver, and Dialect, which names
// the few SQL spellings that differ; what really differs (drivers, DSNs, locking, sequences,
// notifications, error codes) stays in the backends.
//
// Queries here use '?' placeholders in argument order; a backend whose driver wants numbered
// ones rewrites them (see Numbered).
package sqlstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Querier runs the statements of one transaction. Implementations map constraint violations to
// store.ErrConflict (duplicate) and store.ErrNotFound (dangling reference).
type Querier interface {
	// Exec runs a write statement and returns the number of rows it changed.
	Exec(query string, args ...any) (int64, error)
	// QueryRow scans the single row of a read into dest; no row is store.ErrNotFound.
	QueryRow(dest []any, query string, args ...any) error
	// Query scans every row of a read into dest and calls each after each row.
	Query(dest []any, each func() error, query string, args ...any) error
	// NextSeq returns the SQL expression (and its arguments) that yields the next insertion
	// counter, the order key of lists: a backend may allocate it itself (a placeholder and the
	// value) or leave it to the database (a sequence call, no argument).
	NextSeq() (expr string, args []any, err error)
}

// Copier is a Querier that can also load new rows in bulk, as PostgreSQL's COPY does: an
// import's fast path, cheaper for the database than multi-row INSERTs (a 100,000-key import's
// two inserts took 1.7 + 1.5 s as INSERTs, 1.15 + 0.45 s as COPY). CopyNew inserts n rows into
// table, whose seq column takes its default; row(i) makes row i, one value per column, when the
// load is ready for it, so that making rows (sealing, encoding) overlaps the database taking the
// ones before. It reports false, having written nothing and left the transaction usable, when a
// row collides with a unique index; the caller then inserts the same rows with the statement
// that skips conflicting ones.
type Copier interface {
	CopyNew(table string, columns []string, n int, row func(i int) ([]any, error)) (bool, error)
}

// Dialect names what the shared queries spell differently per backend.
type Dialect struct {
	// Name prefixes error messages ("sqlite store").
	Name string
	// NoLimit is the LIMIT argument that means no limit.
	NoLimit any
	// HasPrefix returns a condition that column col starts with prefix (literally and
	// case-sensitively) and its arguments.
	HasPrefix func(col, prefix string) (string, []any)
	// ErrReadOnly is returned by a write inside a read-only transaction.
	ErrReadOnly error
	// InsertIgnore and IgnoreConflicts spell an insert that skips rows conflicting with a
	// unique index: "INSERT INTO … ON CONFLICT DO NOTHING" by default. SQLite spells it
	// "INSERT OR IGNORE INTO …", which also turns NOT NULL failures into skips (the callers
	// never pass NULL) and so cannot abort halfway: SQLite then runs a statement of many rows
	// without a statement journal, the copy of every page it changes that a 100,000-key
	// import spent a tenth of its time writing.
	InsertIgnore, IgnoreConflicts string
}

// insertIgnore returns the dialect's insert-skipping-conflicts prefix and suffix.
func (d *Dialect) insertIgnore() (string, string) {
	if d.InsertIgnore == "" {
		return "INSERT INTO", " ON CONFLICT DO NOTHING"
	}
	return d.InsertIgnore, d.IgnoreConflicts
}

// Errorf formats an error message prefixed with the backend name.
func (d *Dialect) Errorf(format string, args ...any) error {
	return fmt.Errorf(d.Name+": "+format, args...)
}

// Decode unmarshals a stored document.
func (d *Dialect) Decode(doc string, v any) error {
	if err := json.Unmarshal([]byte(doc), v); err != nil {
		return d.Errorf("corrupt document: %w", err)
	}
	return nil
}

// Encode marshals a domain object for the doc column.
func (d *Dialect) Encode(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", d.Errorf("encode: %w", err)
	}
	return string(b), nil
}

// Numbered rewrites the '?' placeholders of query into $1, $2, ... in order (PostgreSQL's
// spelling). The shared queries hold no '?' in literals, so every '?' is a placeholder.
func Numbered(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] != '?' {
			b.WriteByte(query[i])
			continue
		}
		n++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// errNoID reports a write of an aggregate without its key.
func (d *Dialect) errNoID(what string) error {
	return errors.New(d.Name + ": " + what)
}

// RegionsSQL returns the query of Store.Regions: the distinct regions of the tables holding the
// aggregates every other one hangs off (plan keys, deployments and stages cannot exist without
// one of those in their region). Each branch is a loose index scan, one index probe per
// distinct region, rather than a DISTINCT over every row: api_keys may hold hundreds of
// thousands of rows in one region. wrap (a format with one %s) makes a branch fit in a UNION
// in the backend's dialect.
func RegionsSQL(wrap string) string {
	var parts []string
	for _, table := range []string{"accounts", "api_keys", "usage_plans", "rest_apis"} {
		parts = append(parts, fmt.Sprintf(wrap, fmt.Sprintf(`WITH RECURSIVE r(x) AS (
			SELECT MIN(region) FROM %[1]s
			UNION ALL SELECT (SELECT MIN(region) FROM %[1]s WHERE region > r.x) FROM r WHERE r.x IS NOT NULL
		) SELECT x FROM r WHERE x IS NOT NULL`, table)))
	}
	return strings.Join(parts, " UNION ")
}
