package postgres

import (
	"errors"
	"fmt"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

// GetAccount returns the region's account.
func (t *tx) GetAccount() (*apigw.Account, error) {
	var rev int64
	var doc string
	if err := t.queryRow([]any{&rev, &doc}, "SELECT rev, doc FROM accounts WHERE region = $1", t.region); err != nil {
		return nil, wrapNotFound(err, "account of %s", t.region)
	}
	a := new(apigw.Account)
	if err := decode(doc, a); err != nil {
		return nil, err
	}
	a.Rev = rev
	return a, nil
}

// PutAccount inserts (Rev 0) or updates the region's account.
func (t *tx) PutAccount(a *apigw.Account) error {
	doc, err := encode(a)
	if err != nil {
		return err
	}
	var n int64
	if a.Rev == 0 {
		n, err = t.exec("INSERT INTO accounts (region, rev, doc) VALUES ($1, 1, $2) ON CONFLICT DO NOTHING", t.region, doc)
	} else {
		n, err = t.exec("UPDATE accounts SET rev = rev + 1, doc = $1 WHERE region = $2 AND rev = $3", doc, t.region, a.Rev)
	}
	if err := t.wrote(n, err, kindAccount, t.region, "account of %s", t.region); err != nil {
		return err
	}
	a.Rev++
	return nil
}

// wrote checks the outcome of a Rev-guarded write: no row changed means the id exists (insert) or
// the stored Rev moved on (update), both ErrConflict. On success the change is recorded.
func (t *tx) wrote(n int64, err error, kind, id, what string, args ...any) error {
	if err != nil {
		return fmt.Errorf("%s: %w", fmt.Sprintf(what, args...), err)
	}
	if n == 0 {
		return fmt.Errorf("%w: %s", store.ErrConflict, fmt.Sprintf(what, args...))
	}
	t.changedAgg(kind, id)
	return nil
}

// wrapNotFound adds what was looked up to ErrNotFound; other errors pass through.
func wrapNotFound(err error, what string, args ...any) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %s", store.ErrNotFound, fmt.Sprintf(what, args...))
	}
	return err
}

// deleted checks the outcome of a delete: no row means ErrNotFound.
func (t *tx) deleted(n int64, err error, kind, id, what string, args ...any) error {
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: %s", store.ErrNotFound, fmt.Sprintf(what, args...))
	}
	t.changedAgg(kind, id)
	return nil
}

func setKeyRev(k *apigw.ApiKey, rev int64) { k.Rev = rev }

func (t *tx) getKey(where string, arg any) (*apigw.ApiKey, error) {
	var rev int64
	var doc string
	if err := t.queryRow([]any{&rev, &doc}, "SELECT rev, doc FROM api_keys WHERE "+where+" AND region = $2", arg, t.region); err != nil {
		return nil, err
	}
	k := new(apigw.ApiKey)
	if err := decode(doc, k); err != nil {
		return nil, err
	}
	k.Rev = rev
	return k, nil
}

// GetApiKey returns the key with that id.
func (t *tx) GetApiKey(id string) (*apigw.ApiKey, error) {
	k, err := t.getKey("id = $1", id)
	return k, wrapNotFound(err, "api key %s", id)
}

// GetApiKeyByValue returns the region's key with that secret value.
func (t *tx) GetApiKeyByValue(value string) (*apigw.ApiKey, error) {
	k, err := t.getKey("value = $1", value)
	return k, wrapNotFound(err, "api key with that value")
}

// PutApiKey inserts (Rev 0) or updates a key; values are unique per region. A taken id or value
// is ErrConflict and leaves the transaction usable: the insert does nothing on conflict, and
// the update's WHERE clause refuses a value another key of the region holds.
func (t *tx) PutApiKey(k *apigw.ApiKey) error {
	if k.ID == "" {
		return errors.New("postgres store: api key without id")
	}
	doc, err := encode(k)
	if err != nil {
		return err
	}
	var n int64
	if k.Rev == 0 {
		n, err = t.exec(`INSERT INTO api_keys (id, region, value, name, customer_id, seq, rev, doc)
			VALUES ($1, $2, $3, $4, $5, nextval('item_seq'), 1, $6) ON CONFLICT DO NOTHING`,
			k.ID, t.region, k.Value, k.Name, k.CustomerID, doc)
	} else {
		n, err = t.exec(`UPDATE api_keys SET value = $1, name = $2, customer_id = $3, rev = rev + 1, doc = $4
			WHERE id = $5 AND region = $6 AND rev = $7
			AND NOT EXISTS (SELECT 1 FROM api_keys o WHERE o.region = $6 AND o.value = $1 AND o.id <> $5)`,
			k.Value, k.Name, k.CustomerID, doc, k.ID, t.region, k.Rev)
	}
	if err := t.wrote(n, err, kindApiKey, k.ID, "api key %s", k.ID); err != nil {
		return err
	}
	k.Rev++
	return nil
}

// DeleteApiKey removes the key; its usage plan keys go with it (ON DELETE CASCADE).
func (t *tx) DeleteApiKey(id string) error {
	n, err := t.exec("DELETE FROM api_keys WHERE id = $1 AND region = $2", id, t.region)
	return t.deleted(n, err, kindApiKey, id, "api key %s", id)
}

// ListApiKeys lists newest first. The (region, seq) index drives the scan; the filters are
// checked row by row, which stays cheap because a page stops at Limit matches. starts_with is
// a literal, case-sensitive prefix test (LIKE would give % and _ a meaning).
func (t *tx) ListApiKeys(f store.ApiKeyFilter, p store.Page) ([]*apigw.ApiKey, string, error) {
	bound, limit, err := pageBounds(p, true)
	if err != nil {
		return nil, "", err
	}
	q := "SELECT seq, rev, doc FROM api_keys WHERE region = $1"
	args := []any{t.region}
	if f.NamePrefix != "" {
		args = append(args, f.NamePrefix)
		q += fmt.Sprintf(" AND starts_with(name, $%d)", len(args))
	}
	if f.CustomerID != "" {
		args = append(args, f.CustomerID)
		q += fmt.Sprintf(" AND customer_id = $%d", len(args))
	}
	q += fmt.Sprintf(" AND seq < $%d ORDER BY seq DESC LIMIT $%d", len(args)+1, len(args)+2)
	return listPage(t, p, q, append(args, bound, limit), setKeyRev)
}
