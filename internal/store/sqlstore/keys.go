package sqlstore

import (
	"strconv"

	"github.com/tollgate/tollgate/internal/apigw"
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

func setKeyRev(k *apigw.ApiKey, rev int64) { k.Rev = rev }

func (t *Tx) getKey(where string, arg any) (*apigw.ApiKey, error) {
	var rev int64
	k, err := getDoc[apigw.ApiKey](t, &rev, "SELECT rev, doc FROM api_keys WHERE "+where+" AND region = ?", arg, t.region)
	if err != nil {
		return nil, err
	}
	k.Rev = rev
	return k, nil
}

// GetApiKey returns the key with that id.
func (t *Tx) GetApiKey(id string) (*apigw.ApiKey, error) {
	k, err := t.getKey("id = ?", id)
	return k, wrapNotFound(err, "api key %s", id)
}

// GetApiKeyByValue returns the region's key with that secret value.
func (t *Tx) GetApiKeyByValue(value string) (*apigw.ApiKey, error) {
	k, err := t.getKey("value = ?", value)
	return k, wrapNotFound(err, "api key with that value")
}

// PutApiKey inserts (Rev 0) or updates a key; values are unique per region. A taken id or value
// is ErrConflict and leaves the transaction usable: the insert does nothing on conflict, and
// the update's WHERE clause refuses a value another key of the region holds (in PostgreSQL a
// violated constraint would abort the transaction).
func (t *Tx) PutApiKey(k *apigw.ApiKey) error {
	if k.ID == "" {
		return t.d.errNoID("api key without id")
	}
	doc, err := t.d.Encode(k)
	if err != nil {
		return err
	}
	var n int64
	if k.Rev == 0 {
		n, err = t.insert(`INSERT INTO api_keys (id, region, value, name, customer_id, enabled, seq, rev, doc)
			VALUES (?, ?, ?, ?, ?, ?, #seq, 1, ?) ON CONFLICT DO NOTHING`, 6,
			k.ID, t.region, k.Value, k.Name, k.CustomerID, k.Enabled, doc)
	} else {
		n, err = t.exec(`UPDATE api_keys SET value = ?, name = ?, customer_id = ?, enabled = ?, rev = rev + 1, doc = ?
			WHERE id = ? AND region = ? AND rev = ?
			AND NOT EXISTS (SELECT 1 FROM api_keys o WHERE o.region = ? AND o.value = ? AND o.id <> ?)`,
			k.Value, k.Name, k.CustomerID, k.Enabled, doc, k.ID, t.region, k.Rev, t.region, k.Value, k.ID)
	}
	if err := t.wrote(n, err, kindApiKey, k.ID, "api key %s", k.ID); err != nil {
		return err
	}
	k.Rev++
	return nil
}

// DeleteApiKey removes the key; its usage plan keys go with it (ON DELETE CASCADE).
func (t *Tx) DeleteApiKey(id string) error {
	n, err := t.exec("DELETE FROM api_keys WHERE id = ? AND region = ?", id, t.region)
	return t.deleted(n, err, kindApiKey, id, "api key %s", id)
}

// ListApiKeys lists newest first. The (region, seq) index drives the scan; the filters are
// checked row by row, which stays cheap because a page stops at Limit matches.
func (t *Tx) ListApiKeys(f store.ApiKeyFilter, p store.Page) ([]*apigw.ApiKey, string, error) {
	bound, limit, err := t.pageBounds(p, true)
	if err != nil {
		return nil, "", err
	}
	q := "SELECT seq, rev, doc FROM api_keys WHERE region = ?"
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
	return listPage(t, p, q, append(args, bound, limit), setKeyRev)
}

// ListKeyIndex lists newest first from the id, value and enabled columns (the enabled column
// mirrors the document, written with it by PutApiKey), decoding no documents.
func (t *Tx) ListKeyIndex(p store.Page) ([]store.KeyIndexEntry, string, error) {
	bound, limit, err := t.pageBounds(p, true)
	if err != nil {
		return nil, "", err
	}
	var out []store.KeyIndexEntry
	if p.Limit > 0 {
		out = make([]store.KeyIndexEntry, 0, p.Limit+1) // the page and its look-ahead row
	}
	var seq, lastKept int64
	var e store.KeyIndexEntry
	err = t.q.Query([]any{&seq, &e.ID, &e.Value, &e.Enabled}, func() error {
		out = append(out, e)
		if len(out) == p.Limit {
			lastKept = seq // the next page's cursor if a look-ahead row follows
		}
		return nil
	}, "SELECT seq, id, value, enabled FROM api_keys WHERE region = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
		t.region, bound, limit)
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
