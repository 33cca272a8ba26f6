package sqlstore

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/seal"
	"github.com/tollgate/tollgate/internal/store"
)

// GetAccount returns the region's account.
func (t *Tx) GetAccount() (*apigw.Account, error) {
	var rev int64
	a, err := getDoc[apigw.Account](t, &rev, "SELECT rev, doc FROM accounts WHERE region = ?", t.region)
	if err != nil {
		return nil, wrapNotFound(err, "account of %s", t.region)
	}
	a.Rev = rev
	return a, nil
}

// PutAccount inserts (Rev 0) or updates the region's account.
func (t *Tx) PutAccount(a *apigw.Account) error {
	doc, err := t.d.Encode(a)
	if err != nil {
		return err
	}
	var n int64
	if a.Rev == 0 {
		n, err = t.exec("INSERT INTO accounts (region, rev, doc) VALUES (?, 1, ?) ON CONFLICT DO NOTHING", t.region, doc)
	} else {
		n, err = t.exec("UPDATE accounts SET rev = rev + 1, doc = ? WHERE region = ? AND rev = ?", doc, t.region, a.Rev)
	}
	if err := t.wrote(n, err, kindAccount, t.region, "account of %s", t.region); err != nil {
		return err
	}
	a.Rev++
	return nil
}

// Key values at rest: the value_hash column holds ValueHash(value), which lookups by value and the
// per-region uniqueness use; the secret column holds the value sealed under the master key for
// the reads that return it (GetApiKey with includeValue, GetApiKeys with includeValues). The
// documents never carry it.

// ValueHash is what the value_hash column holds for an API key value: its SHA-256 in hex, the
// hash the data plane's snapshot indexes keys by (snapshot.HashKey).
func ValueHash(value string) string {
	h := sha256.Sum256([]byte(value))
	return hex.EncodeToString(h[:])
}

// secretAAD binds a sealed value to its key's row.
func secretAAD(id string) string { return "api_keys/" + id }

// openKey puts the value sealed in secret back into k.
func (t *Tx) openKey(k *apigw.ApiKey, secret string) error {
	if t.keys == nil {
		return t.d.Errorf("api key %s: no master key to open its value", k.ID)
	}
	v, err := t.keys.Open(secret, secretAAD(k.ID))
	if err != nil {
		return t.d.Errorf("api key %s: %w", k.ID, err)
	}
	k.Value = v
	return nil
}

func (t *Tx) getKey(where string, arg any) (*apigw.ApiKey, error) {
	var rev int64
	var doc, secret string
	if err := t.q.QueryRow([]any{&rev, &doc, &secret}, "SELECT rev, doc, secret FROM api_keys WHERE "+where+" AND region = ?", arg, t.region); err != nil {
		return nil, err
	}
	k := new(apigw.ApiKey)
	if err := t.d.Decode(doc, k); err != nil {
		return nil, err
	}
	k.Rev = rev
	return k, t.openKey(k, secret)
}

// GetApiKey returns the key with that id.
func (t *Tx) GetApiKey(id string) (*apigw.ApiKey, error) {
	k, err := t.getKey("id = ?", id)
	return k, wrapNotFound(err, "api key %s", id)
}

// GetApiKeyByValue returns the region's key with that secret value, found by its hash.
func (t *Tx) GetApiKeyByValue(value string) (*apigw.ApiKey, error) {
	k, err := t.getKey("value_hash = ?", ValueHash(value))
	return k, wrapNotFound(err, "api key with that value")
}

// PutApiKey inserts (Rev 0) or updates a key; values are unique per region. A taken id or value
// is ErrConflict and leaves the transaction usable: the insert does nothing on conflict, and
// the update's WHERE clause refuses a value another key of the region holds (in PostgreSQL a
// violated constraint would abort the transaction). The value is stored hashed and sealed, never
// in the document.
func (t *Tx) PutApiKey(k *apigw.ApiKey) error {
	if k.ID == "" {
		return t.d.errNoID("api key without id")
	}
	if t.keys == nil {
		return t.d.Errorf("api key %s: no master key to seal its value", k.ID)
	}
	stored := *k
	stored.Value = ""
	doc, err := t.d.Encode(&stored)
	if err != nil {
		return err
	}
	hash, secret := ValueHash(k.Value), t.keys.Seal(k.Value, secretAAD(k.ID))
	var n int64
	if k.Rev == 0 {
		n, err = t.insert(`INSERT INTO api_keys (id, region, value_hash, secret, name, customer_id, enabled, seq, rev, doc)
			VALUES (?, ?, ?, ?, ?, ?, ?, #seq, 1, ?) ON CONFLICT DO NOTHING`, 7,
			k.ID, t.region, hash, secret, k.Name, k.CustomerID, k.Enabled, doc)
	} else {
		n, err = t.exec(`UPDATE api_keys SET value_hash = ?, secret = ?, name = ?, customer_id = ?, enabled = ?, rev = rev + 1, doc = ?
			WHERE id = ? AND region = ? AND rev = ?
			AND NOT EXISTS (SELECT 1 FROM api_keys o WHERE o.region = ? AND o.value_hash = ? AND o.id <> ?)`,
			hash, secret, k.Name, k.CustomerID, k.Enabled, doc, k.ID, t.region, k.Rev, t.region, hash, k.ID)
	}
	if err := t.wrote(n, err, kindApiKey, k.ID, "api key %s", k.ID); err != nil {
		return err
	}
	k.Rev++
	return nil
}

// putApiKeysBatch is the most keys one PutApiKeys statement inserts (10 parameters a row, far
// below either backend's limit).
const putApiKeysBatch = 256

// keyColumns are the api_keys columns PutApiKeys writes, in the order of keyRow's values; the
// INSERT adds seq, a Copier leaves it to the column's default.
var keyColumns = []string{"id", "region", "value_hash", "secret", "name", "customer_id", "enabled", "rev", "doc"}

// keyRow is a new key's row: its value hashed and sealed, its document without it.
func (t *Tx) keyRow(k *apigw.ApiKey) ([]any, error) {
	stored := *k
	stored.Value = ""
	doc, err := t.d.Encode(&stored)
	if err != nil {
		return nil, err
	}
	return []any{k.ID, t.region, ValueHash(k.Value), t.keys.Seal(k.Value, secretAAD(k.ID)), k.Name, k.CustomerID, k.Enabled, int64(1), doc}, nil
}

// PutApiKeys inserts new keys in bulk (see store.Tx): through the backend's Copier when it has
// one and no key collides, otherwise several to a statement. RETURNING names the rows that went
// in; ON CONFLICT DO NOTHING leaves out the others, as PutApiKey's insert does.
func (t *Tx) PutApiKeys(keys []*apigw.ApiKey) ([]bool, error) {
	if !t.write {
		return nil, t.d.ErrReadOnly
	}
	if t.keys == nil {
		return nil, t.d.Errorf("no master key to seal api key values")
	}
	for _, k := range keys {
		if k.ID == "" || k.Rev != 0 {
			return nil, t.d.errNoID("PutApiKeys takes new keys with ids")
		}
	}
	rows := newRowCache(len(keys), func(i int) ([]any, error) { return t.keyRow(keys[i]) })
	inserted := make([]bool, len(keys))
	copied, err := t.copyNew("api_keys", keyColumns, rows)
	if err != nil {
		return nil, t.d.Errorf("put api keys: %w", err)
	}
	if copied {
		for i := range inserted {
			inserted[i] = true
		}
	} else if err := t.insertKeys(keys, rows, inserted); err != nil {
		return nil, err
	}
	for i, k := range keys {
		if inserted[i] {
			k.Rev = 1
			t.changedAgg(kindApiKey, k.ID)
			t.setPresent(kindApiKey, k.ID, true)
		}
	}
	return inserted, nil
}

// rowCache makes each row of a bulk insert once, when first asked for: by the Copier, and again
// by the INSERT that follows a collision (a value sealed twice would differ, for nothing).
type rowCache struct {
	rows  [][]any
	build func(i int) ([]any, error)
}

func newRowCache(n int, build func(i int) ([]any, error)) *rowCache {
	return &rowCache{rows: make([][]any, n), build: build}
}

func (c *rowCache) row(i int) ([]any, error) {
	if c.rows[i] == nil {
		r, err := c.build(i)
		if err != nil {
			return nil, err
		}
		c.rows[i] = r
	}
	return c.rows[i], nil
}

// eachBatch calls write for each run of up to size rows, in order. While the store runs one
// statement, the next run's rows (documents, hashes, sealed values: about a tenth of a
// 100,000-key import's CPU on SQLite, a quarter of PutApiKeys', paid between its statements)
// are built on a goroutine of their own, on the other core. write reads its run's rows with row, which has them ready from the second
// run on; the goroutine touches only the rows of the run after it, and eachBatch waits for it
// before returning, whatever write returned.
func (c *rowCache) eachBatch(size int, write func(lo, hi int) error) (err error) {
	var ready func() error // waits for the run being built, nil when none is
	defer func() {
		if ready != nil {
			if e := ready(); err == nil {
				err = e
			}
		}
	}()
	for lo := 0; lo < len(c.rows); lo += size {
		hi := min(lo+size, len(c.rows))
		if ready != nil {
			wait := ready
			ready = nil // before waiting: a panic it re-raises must not wait again in the defer
			if err := wait(); err != nil {
				return err
			}
		}
		if hi < len(c.rows) {
			ready = c.prefetch(hi, min(hi+size, len(c.rows)))
		}
		if err := write(lo, hi); err != nil {
			return err
		}
	}
	return nil
}

// prefetch builds rows [lo, hi) on a goroutine and returns the function that waits for them
// (once), re-raising there a panic of the build.
func (c *rowCache) prefetch(lo, hi int) func() error {
	type result struct {
		err      error
		panicked any
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			r.panicked = recover()
			done <- r
		}()
		for i := lo; i < hi && r.err == nil; i++ {
			_, r.err = c.row(i)
		}
	}()
	return func() error {
		r := <-done
		if r.panicked != nil {
			panic(r.panicked)
		}
		return r.err
	}
}

// copyNew loads rows through the backend's Copier; false when it has none or a row collides.
func (t *Tx) copyNew(table string, columns []string, rows *rowCache) (bool, error) {
	c, ok := t.q.(Copier)
	if !ok || len(rows.rows) == 0 {
		return false, nil
	}
	return c.CopyNew(table, columns, len(rows.rows), rows.row)
}

// insertKeys inserts the rows of keys several to a statement, marking the ones that went in.
func (t *Tx) insertKeys(keys []*apigw.ApiKey, rows *rowCache, inserted []bool) error {
	insert, onConflict := t.d.insertIgnore()
	index := make(map[string]int, min(len(keys), putApiKeysBatch))
	var text batchText
	args := make([]any, 0, 10*min(len(keys), putApiKeysBatch))
	return rows.eachBatch(putApiKeysBatch, func(lo, hi int) error {
		args = args[:0]
		clear(index)
		text.start()
		for i := lo; i < hi; i++ {
			expr, seqArgs, err := t.q.NextSeq()
			if err != nil {
				return err
			}
			row, err := rows.row(i)
			if err != nil {
				return err
			}
			text.add(expr)
			args = append(append(args, row...), seqArgs...)
			index[keys[i].ID] = i
		}
		var id string
		err := t.q.Query([]any{&id}, func() error {
			i, ok := index[id]
			if !ok {
				return fmt.Errorf("api key %s: inserted but not asked for", id)
			}
			inserted[i] = true
			return nil
		}, text.query(insert+" api_keys ("+strings.Join(keyColumns, ", ")+", seq) VALUES ", "(?, ?, ?, ?, ?, ?, ?, ?, ?, ", onConflict+" RETURNING id"), args...)
		if err != nil {
			return t.d.Errorf("put api keys: %w", err)
		}
		return nil
	})
}

// batchText is the text of a bulk insert's statements: head, then one row per value (its
// placeholders, then its insertion counter's expression), then tail. Runs of the same length
// with the same expressions (every full run, on either backend) share one text, made once:
// making it again for every 256 rows allocated 26 of the 580 MB a 100,000-key import into two
// plans did.
type batchText struct {
	exprs, last []string
	text        string
}

// start begins a run.
func (b *batchText) start() { b.exprs = b.exprs[:0] }

// add adds a row whose counter is expr.
func (b *batchText) add(expr string) { b.exprs = append(b.exprs, expr) }

// query is the run's statement.
func (b *batchText) query(head, row, tail string) string {
	if b.text != "" && slices.Equal(b.exprs, b.last) {
		return b.text
	}
	var q strings.Builder
	q.Grow(len(head) + len(b.exprs)*(len(row)+16) + len(tail))
	q.WriteString(head)
	for i, expr := range b.exprs {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(row)
		q.WriteString(expr)
		q.WriteByte(')')
	}
	q.WriteString(tail)
	b.text, b.last = q.String(), append(b.last[:0], b.exprs...)
	return b.text
}

// DeleteApiKey removes the key and its usage plan keys. They are deleted here rather than by
// the schema: PostgreSQL's usage_plan_keys has no foreign keys (its migration 0008 says why);
// on SQLite, whose foreign keys cascade, the second statement finds nothing left.
func (t *Tx) DeleteApiKey(id string) error {
	n, err := t.exec("DELETE FROM api_keys WHERE id = ? AND region = ?", id, t.region)
	if err == nil && n > 0 {
		_, err = t.exec("DELETE FROM usage_plan_keys WHERE key_id = ?", id)
	}
	return t.deleted(n, err, kindApiKey, id, "api key %s", id)
}

// ListApiKeys lists newest first. The (region, seq) index drives the scan; the filters are
// checked row by row, which stays cheap because a page stops at Limit matches.
func (t *Tx) ListApiKeys(f store.ApiKeyFilter, p store.Page) ([]*apigw.ApiKey, string, error) {
	bound, limit, err := t.pageBounds(p, true)
	if err != nil {
		return nil, "", err
	}
	q := "SELECT seq, rev, doc, secret FROM api_keys WHERE region = ?"
	args := []any{t.region}
	if f.NamePrefix != "" {
		cond, cargs := t.d.HasPrefix("name", f.NamePrefix)
		q += " AND " + cond
		args = append(args, cargs...)
	}
	if f.CustomerID != "" {
		q += " AND customer_id = ?"
		args = append(args, f.CustomerID)
	}
	q += " AND seq < ? ORDER BY seq DESC LIMIT ?"
	return t.listKeys(p, q, append(args, bound, limit))
}

// listKeys runs a list query selecting seq, rev, doc and secret (see listPage) and opens each
// key's value.
func (t *Tx) listKeys(p store.Page, query string, args []any) ([]*apigw.ApiKey, string, error) {
	rs, next, err := queryPage(t, p, query, args, true)
	if err != nil {
		return nil, "", err
	}
	out := make([]*apigw.ApiKey, 0, len(rs))
	for _, r := range rs {
		k := new(apigw.ApiKey)
		if err := t.d.Decode(r.doc, k); err != nil {
			return nil, "", err
		}
		k.Rev = r.rev
		if err := t.openKey(k, r.secret); err != nil {
			return nil, "", err
		}
		out = append(out, k)
	}
	return out, next, nil
}

// decodeValueHash puts a value_hash column's hex into e.Hash.
func decodeValueHash(e *store.KeyIndexEntry, hash string) error {
	if len(hash) != 2*len(e.Hash) {
		return fmt.Errorf("api key %s: value_hash is not a SHA-256", e.ID)
	}
	if _, err := hex.Decode(e.Hash[:], []byte(hash)); err != nil {
		return fmt.Errorf("api key %s: value_hash: %w", e.ID, err)
	}
	return nil
}

// ListKeyIndex lists newest first from the same columns as KeyIndexOf, down to stop (a cursor
// of SplitKeyIndex) when one is given.
func (t *Tx) ListKeyIndex(p store.Page, stop string) ([]store.KeyIndexEntry, string, error) {
	bound, limit, err := t.pageBounds(p, true)
	if err != nil {
		return nil, "", err
	}
	floor := int64(0) // every seq is positive
	if stop != "" {
		if floor, _, err = t.pageBounds(store.Page{Cursor: stop}, true); err != nil {
			return nil, "", err
		}
	}
	var out []store.KeyIndexEntry
	if p.Limit > 0 {
		out = make([]store.KeyIndexEntry, 0, p.Limit+1) // the page and its look-ahead row
	}
	var seq, lastKept int64
	var e store.KeyIndexEntry
	var hash string
	err = t.q.Query([]any{&seq, &e.ID, &hash, &e.Enabled}, func() error {
		if err := decodeValueHash(&e, hash); err != nil {
			return err
		}
		out = append(out, e)
		if len(out) == p.Limit {
			lastKept = seq // the next page's cursor if a look-ahead row follows
		}
		return nil
	}, "SELECT seq, id, value_hash, enabled FROM api_keys WHERE region = ? AND seq < ? AND seq >= ? ORDER BY seq DESC LIMIT ?",
		t.region, bound, floor, limit)
	if err != nil {
		return nil, "", t.d.Errorf("list key index: %w", err)
	}
	next := ""
	if p.Limit > 0 && len(out) > p.Limit {
		out = out[:p.Limit]
		next = strconv.FormatInt(lastKept, 10)
	}
	return out, next, nil
}

// SplitKeyIndex cuts the span of insertion positions between the region's oldest and newest
// key into equal parts: two index lookups, where counting the keys would scan them all. Keys
// are not spread evenly over that span (other objects take positions from the same counter), so
// the parts hold similar, not equal, numbers of keys.
func (t *Tx) SplitKeyIndex(parts, minSpan int) ([]string, error) {
	var lo, hi int64
	if err := t.q.QueryRow([]any{&lo, &hi},
		"SELECT COALESCE((SELECT MIN(seq) FROM api_keys WHERE region = ?), 0), COALESCE((SELECT MAX(seq) FROM api_keys WHERE region = ?), 0)",
		t.region, t.region); err != nil {
		return nil, t.d.Errorf("split key index: %w", err)
	}
	if hi == 0 || parts < 2 || minSpan < 1 {
		return nil, nil
	}
	span := hi - lo + 1
	parts = int(min(int64(parts), span/int64(minSpan)))
	var cuts []string
	for i := 1; i < parts; i++ {
		cuts = append(cuts, strconv.FormatInt(hi+1-span*int64(i)/int64(parts), 10))
	}
	return cuts, nil
}

// SealAll runs batch (one SealKeys transaction of a backend, after the id it is given) until
// nothing is left, and returns how many rows it changed.
func SealAll(batch func(after string) (changed int, last string, err error)) (int, error) {
	total, after := 0, ""
	for {
		n, last, err := batch(after)
		total += n
		if err != nil || last == "" {
			return total, err
		}
		after = last
	}
}

// SealBatch is how many key rows SealKeys converts per transaction.
const SealBatch = 500

// SealKeys converts one batch of key rows, in id order after the id after, to the at-rest form
// under the sealing key of keys, and returns how many rows it changed and the last id it looked
// at ("" when there is nothing left). Two kinds of rows change:
//   - rows written before migration 0006 (secret ”), whose value_hash column still holds the
//     value itself and whose document carries it: the value is hashed and sealed and the
//     document cleared;
//   - with reseal, rows sealed under another master key (a rotation): re-sealed.
//
// Without reseal only the first kind is read, through the partial index on secret = ”, so a
// store that has nothing to convert pays one index probe at open. Neither rev nor the change
// log moves: the keys are the same keys, only their storage changed.
func SealKeys(d *Dialect, q Querier, keys *seal.Keyring, after string, reseal bool) (changed int, last string, err error) {
	type legacy struct{ id, value, secret, doc string }
	var rows []legacy
	var r legacy
	query := "SELECT id, value_hash, secret, doc FROM api_keys WHERE secret = '' AND id > ? ORDER BY id LIMIT ?"
	if reseal {
		query = "SELECT id, value_hash, secret, doc FROM api_keys WHERE id > ? ORDER BY id LIMIT ?"
	}
	if err := q.Query([]any{&r.id, &r.value, &r.secret, &r.doc}, func() error {
		rows = append(rows, r)
		return nil
	}, query, after, SealBatch); err != nil {
		return 0, "", d.Errorf("seal keys: %w", err)
	}
	active := keys.ActiveID()
	for _, r := range rows {
		last = r.id
		value, doc := "", r.doc
		switch {
		case r.secret == "":
			value = r.value
			var k apigw.ApiKey
			if err := d.Decode(r.doc, &k); err != nil {
				return changed, "", err
			}
			k.Value = ""
			if doc, err = d.Encode(&k); err != nil {
				return changed, "", err
			}
		case seal.SealedWith(r.secret) == active:
			continue
		default:
			if value, err = keys.Open(r.secret, secretAAD(r.id)); err != nil {
				return changed, "", d.Errorf("api key %s: %w", r.id, err)
			}
		}
		if _, err := q.Exec("UPDATE api_keys SET value_hash = ?, secret = ?, doc = ? WHERE id = ?",
			ValueHash(value), keys.Seal(value, secretAAD(r.id)), doc, r.id); err != nil {
			return changed, "", d.Errorf("seal key %s: %w", r.id, err)
		}
		changed++
	}
	if len(rows) < SealBatch {
		last = ""
	}
	return changed, last, nil
}

// KeyIndexOf reads the entries of many keys (store.Tx), InBatch to a statement.
func (t *Tx) KeyIndexOf(ids []string) ([]store.KeyIndexEntry, error) {
	out := make([]store.KeyIndexEntry, 0, len(ids))
	var e store.KeyIndexEntry
	var region, hash string
	// The region is checked here, not in the query: with it there, SQLite walked the region's
	// whole covering index (region, seq, …) instead of looking each id up (ids are unique
	// across regions, so each is one lookup of the primary key).
	err := InBatches(ids, nil, func(marks string, args []any) error {
		return t.q.Query([]any{&e.ID, &region, &hash, &e.Enabled}, func() error {
			if region != t.region {
				return nil
			}
			if err := decodeValueHash(&e, hash); err != nil {
				return err
			}
			out = append(out, e)
			return nil
		}, InList(KeyIndexOfSQL, marks), args...)
	})
	if err != nil {
		return nil, t.d.Errorf("key index: %w", err)
	}
	return out, nil
}

// The batched reads, with #in where the IN list of markers goes (InList); each must look its
// ids up by an index, which TestBatchedReadsLookUp checks on SQLite's plans.
const (
	KeyIndexOfSQL      = "SELECT id, region, value_hash, enabled FROM api_keys WHERE id IN (#in)"
	PlansOfKeysSQL     = "SELECT key_id, plan_id, region FROM usage_plan_keys WHERE key_id IN (#in) ORDER BY seq"
	QuotaAllowancesSQL = `SELECT key_id, allowance FROM quota_allowances
		WHERE region = ? AND plan_id = ? AND period_start = ? AND key_id IN (#in)`
)

// InList puts marks in query's IN list.
func InList(query, marks string) string { return strings.Replace(query, "#in", marks, 1) }

// InBatch is the most ids one statement of a batched read binds (SQLite allows 32,766
// parameters, PostgreSQL 65,535).
const InBatch = 500

// inSizes are the lengths an IN list is padded to (with repeats of its last id, which match
// nothing more), so that a batched read is one of a few statements, each prepared once, and
// not a new one for every length.
var inSizes = [...]int{1, 8, 64, InBatch}

// SortedIDs returns ids sorted and without repeats, in a new slice: a batched read then looks
// its ids up in index order, and reads an id listed twice once.
func SortedIDs(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// InBatches calls fn for each batch of ids with the batch's IN list of markers and its
// arguments: prefix, then the ids.
func InBatches(ids []string, prefix []any, fn func(marks string, args []any) error) error {
	args := make([]any, 0, len(prefix)+min(len(ids), InBatch))
	for start := 0; start < len(ids); start += InBatch {
		batch := ids[start:min(start+InBatch, len(ids))]
		size := InBatch
		for _, n := range inSizes {
			if n >= len(batch) {
				size = n
				break
			}
		}
		args = append(args[:0], prefix...)
		for i := range size {
			args = append(args, batch[min(i, len(batch)-1)])
		}
		if err := fn(inMarks(size), args); err != nil {
			return err
		}
	}
	return nil
}

// inMarks returns n markers separated by commas.
func inMarks(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }
