package sqlstore

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tollgate/tollgate/internal/seal"
	"github.com/tollgate/tollgate/internal/store"
)

// BulkChanges is the number of distinct aggregates one Update may write before its change log
// stops writing a row for each: an import of 100,000 keys should not double its cost writing
// 100,000 log rows. Beyond it, the keys written (created, changed, deleted, added to or removed
// from plans) go into one row that lists their ids (store.KindApiKeys), which lets every node's
// data plane reload those keys alone; any other aggregates beyond it collapse the entry into a
// single region-wide row (kind "*"), which makes them rebuild.
const BulkChanges = 256

// KeepChanges is how many change rows the log keeps; older ones are pruned as new ones arrive.
const KeepChanges = 10000

// KeepKeyLists is how many of the newest store.KindApiKeys rows keep their lists of ids: a list
// of a 100,000-key import is 2 MB, and the log keeps KeepChanges rows. Older ones become
// region-wide markers ("*"), so that a node that falls that far behind rebuilds.
const KeepKeyLists = 16

// PruneKeyListsSQL turns the key lists older than the newest KeepKeyLists into region-wide
// markers. The backends run it after writing a key list.
var PruneKeyListsSQL = fmt.Sprintf(`UPDATE changes SET kind = '*', id = '' WHERE kind = 'apikeys' AND seq <
	(SELECT MIN(seq) FROM (SELECT seq FROM changes WHERE kind = 'apikeys' ORDER BY seq DESC LIMIT %d) AS newest)`, KeepKeyLists)

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

// ChangeKey names one written aggregate in the change log.
type ChangeKey struct{ Kind, ID string }

// Tx implements store.Tx over a backend's Querier. The backend commits it and writes its change
// log (Changes) before the commit.
type Tx struct {
	q      Querier
	d      *Dialect
	region string
	write  bool
	keys   *seal.Keyring // seals and opens API key values

	changed map[ChangeKey]struct{}
	// keyList holds, once more than BulkChanges aggregates were written, the ids of the keys
	// written (first-write order, without repeats; keyListed is its set): they make one
	// store.KindApiKeys row, and only the other aggregates have rows of their own.
	keyList   []string
	keyListed map[string]struct{}
	// present holds the keys and plans this transaction wrote or found: PutUsagePlanKey checks
	// its parents once per transaction, not once per row (an import attaches 100,000 keys to
	// one plan, keys it has just inserted).
	present   map[ChangeKey]bool
	bulk      bool        // more than BulkChanges aggregates other than keys written: changed was dropped
	changeLog []ChangeKey // first-write order, for deterministic change rows
}

var _ store.Tx = (*Tx)(nil)

// NewTx returns the store.Tx of one backend transaction scoped to region; write says whether
// it may write.
func NewTx(d *Dialect, q Querier, keys *seal.Keyring, region string, write bool) *Tx {
	return &Tx{q: q, d: d, keys: keys, region: region, write: write}
}

// Changes returns the change log rows the transaction owes: one per written aggregate in
// first-write order; beyond BulkChanges, one row listing the keys written (store.KindApiKeys)
// after the rows of the other aggregates, or a single region-wide {"*", ""} when those are
// beyond BulkChanges too; nil when nothing was written.
func (t *Tx) Changes() []ChangeKey {
	if t.bulk {
		return []ChangeKey{{Kind: "*"}}
	}
	if t.keyListed == nil {
		return t.changeLog
	}
	for _, id := range t.keyList {
		if strings.Contains(id, "\n") {
			return []ChangeKey{{Kind: "*"}} // not an id the API makes; its list could not be read
		}
	}
	return append(slices.Clip(t.changeLog), ChangeKey{Kind: store.KindApiKeys, ID: strings.Join(t.keyList, "\n")})
}

// Bulk reports whether the transaction wrote more than BulkChanges aggregates (an import): its
// change log lists the keys in one row or is one region-wide marker. The backends tidy up
// after such a write (SQLite's writer gives its page cache back, PostgreSQL samples the tables
// again).
func (t *Tx) Bulk() bool { return t.bulk || t.keyListed != nil }

// KeyList reports whether the transaction's change log lists keys in one row (the backend then
// runs PruneKeyListsSQL).
func (t *Tx) KeyList() bool { return !t.bulk && t.keyListed != nil }

// keyOf returns the key a change of kind/id wrote: the id of an apikey change, the key of a
// usageplankey change ("<planId>/<keyId>"), "" for other kinds.
func keyOf(kind, id string) string {
	switch kind {
	case kindApiKey:
		return id
	case kindUsagePlanKey:
		_, key, _ := strings.Cut(id, "/")
		return key
	}
	return ""
}

// changedAgg records that the transaction wrote the aggregate kind/id.
func (t *Tx) changedAgg(kind, id string) {
	if t.bulk {
		return // the log entry is region-wide already; a 100,000-key import keeps no set of them
	}
	if t.keyListed != nil {
		if key := keyOf(kind, id); key != "" {
			t.listKey(key)
			return
		}
	}
	if t.changed == nil {
		t.changed = map[ChangeKey]struct{}{}
	}
	k := ChangeKey{kind, id}
	if _, ok := t.changed[k]; ok {
		return
	}
	t.changed[k] = struct{}{}
	t.changeLog = append(t.changeLog, k)
	if len(t.changed) <= BulkChanges {
		return
	}
	if t.keyListed == nil {
		// From now on keys are listed, not logged: move the keys logged so far to the list.
		t.keyListed = map[string]struct{}{}
		rest := t.changeLog[:0]
		for _, c := range t.changeLog {
			if key := keyOf(c.Kind, c.ID); key != "" {
				t.listKey(key)
				delete(t.changed, c)
			} else {
				rest = append(rest, c)
			}
		}
		clear(t.changeLog[len(rest):])
		t.changeLog = rest
	}
	if len(t.changed) > BulkChanges {
		t.bulk, t.changed, t.changeLog, t.keyList, t.keyListed = true, nil, nil, nil, nil
	}
}

// listKey adds a key to the transaction's key list.
func (t *Tx) listKey(id string) {
	if _, ok := t.keyListed[id]; !ok {
		t.keyListed[id] = struct{}{}
		t.keyList = append(t.keyList, id)
	}
}

// exec runs a write statement; a read-only transaction refuses it before it reaches the driver.
func (t *Tx) exec(query string, args ...any) (int64, error) {
	if !t.write {
		return 0, t.d.ErrReadOnly
	}
	return t.q.Exec(query, args...)
}

// insert runs an INSERT whose text holds the insertion counter as the marker "#seq": the
// marker becomes the backend's NextSeq expression and its arguments are spliced in at
// position at of args.
func (t *Tx) insert(query string, at int, args ...any) (int64, error) {
	if !t.write {
		return 0, t.d.ErrReadOnly
	}
	expr, seqArgs, err := t.q.NextSeq()
	if err != nil {
		return 0, err
	}
	all := make([]any, 0, len(args)+len(seqArgs))
	all = append(append(append(all, args[:at]...), seqArgs...), args[at:]...)
	return t.q.Exec(replaceSeq(query, expr), all...)
}

// exists reports whether query returns a row.
func (t *Tx) exists(query string, args ...any) (bool, error) {
	var one int
	err := t.q.QueryRow([]any{&one}, query, args...)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// getDoc decodes the doc of the single row of query; rev, when not nil, receives the rev
// column the query selects before it.
func getDoc[T any](t *Tx, rev *int64, query string, args ...any) (*T, error) {
	var doc string
	dest := []any{&doc}
	if rev != nil {
		dest = []any{rev, &doc}
	}
	if err := t.q.QueryRow(dest, query, args...); err != nil {
		return nil, err
	}
	v := new(T)
	if err := t.d.Decode(doc, v); err != nil {
		return nil, err
	}
	return v, nil
}

// wrote checks the outcome of a Rev-guarded write: no row changed means the id exists (insert) or
// the stored Rev moved on (update), both ErrConflict. On success the change is recorded.
func (t *Tx) wrote(n int64, err error, kind, id, what string, args ...any) error {
	if err != nil {
		return fmt.Errorf("%s: %w", fmt.Sprintf(what, args...), err)
	}
	if n == 0 {
		return fmt.Errorf("%w: %s", store.ErrConflict, fmt.Sprintf(what, args...))
	}
	t.changedAgg(kind, id)
	t.setPresent(kind, id, true)
	return nil
}

// setPresent records whether a key or plan row exists as of this point of the transaction.
func (t *Tx) setPresent(kind, id string, ok bool) {
	if kind != kindApiKey && kind != kindUsagePlan {
		return
	}
	if t.present == nil {
		t.present = map[ChangeKey]bool{}
	}
	if ok {
		t.present[ChangeKey{kind, id}] = true
	} else {
		delete(t.present, ChangeKey{kind, id})
	}
}

// wrapNotFound adds what was looked up to ErrNotFound; other errors pass through.
func wrapNotFound(err error, what string, args ...any) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %s", store.ErrNotFound, fmt.Sprintf(what, args...))
	}
	return err
}

// deleted checks the outcome of a delete: no row means ErrNotFound.
func (t *Tx) deleted(n int64, err error, kind, id, what string, args ...any) error {
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: %s", store.ErrNotFound, fmt.Sprintf(what, args...))
	}
	t.changedAgg(kind, id)
	t.setPresent(kind, id, false)
	return nil
}

// pageBounds turns a Page into a seq bound and a LIMIT argument. Newest-first lists read
// seq < cursor, creation-order lists seq > cursor; no cursor means no bound. One extra row is
// fetched to learn whether a next page exists. Limit <= 0 means no limit (Dialect.NoLimit).
func (t *Tx) pageBounds(p store.Page, newestFirst bool) (bound int64, limit any, err error) {
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
	limit = t.d.NoLimit
	if p.Limit > 0 {
		limit = int64(p.Limit) + 1
	}
	return bound, limit, nil
}

// row is one listed document with its order key.
type row struct {
	seq    int64
	rev    int64
	doc    string
	secret string // only for queries that select it (see queryPage)
}

// listPage runs a list query (which selects seq, rev, doc and whose last two arguments are the
// seq bound and the limit), cuts the look-ahead row into the next cursor and decodes the page,
// setting Rev through setRev.
func listPage[T any](t *Tx, p store.Page, query string, args []any, setRev func(*T, int64)) ([]*T, string, error) {
	rs, next, err := queryPage(t, p, query, args, false)
	if err != nil {
		return nil, "", err
	}
	out := make([]*T, 0, len(rs))
	for _, r := range rs {
		v := new(T)
		if err := t.d.Decode(r.doc, v); err != nil {
			return nil, "", err
		}
		if setRev != nil {
			setRev(v, r.rev)
		}
		out = append(out, v)
	}
	return out, next, nil
}

// queryPage runs a list query selecting seq, rev, doc (and secret, with withSecret) and cuts the
// look-ahead row into the next cursor.
func queryPage(t *Tx, p store.Page, query string, args []any, withSecret bool) ([]row, string, error) {
	var rs []row
	var r row
	dest := []any{&r.seq, &r.rev, &r.doc}
	if withSecret {
		dest = append(dest, &r.secret)
	}
	if err := t.q.Query(dest, func() error {
		rs = append(rs, r)
		return nil
	}, query, args...); err != nil {
		return nil, "", t.d.Errorf("list: %w", err)
	}
	next := ""
	if p.Limit > 0 && len(rs) > p.Limit {
		rs = rs[:p.Limit]
		next = strconv.FormatInt(rs[len(rs)-1].seq, 10)
	}
	return rs, next, nil
}

// replaceSeq puts the insertion counter expression in place of the "#seq" marker.
func replaceSeq(query, expr string) string {
	return strings.Replace(query, "#seq", expr, 1)
}
