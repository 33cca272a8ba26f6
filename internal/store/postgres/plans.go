package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

func setPlanRev(u *apigw.UsagePlan, rev int64) { u.Rev = rev }

// GetUsagePlan returns the plan with that id.
func (t *tx) GetUsagePlan(id string) (*apigw.UsagePlan, error) {
	var rev int64
	var doc string
	if err := t.queryRow([]any{&rev, &doc}, "SELECT rev, doc FROM usage_plans WHERE id = $1 AND region = $2", id, t.region); err != nil {
		return nil, wrapNotFound(err, "usage plan %s", id)
	}
	u := new(apigw.UsagePlan)
	if err := decode(doc, u); err != nil {
		return nil, err
	}
	u.Rev = rev
	return u, nil
}

// PutUsagePlan inserts (Rev 0) or updates a plan.
func (t *tx) PutUsagePlan(u *apigw.UsagePlan) error {
	if u.ID == "" {
		return errors.New("postgres store: usage plan without id")
	}
	doc, err := encode(u)
	if err != nil {
		return err
	}
	var n int64
	if u.Rev == 0 {
		n, err = t.exec(`INSERT INTO usage_plans (id, region, seq, rev, doc) VALUES ($1, $2, nextval('item_seq'), 1, $3)
			ON CONFLICT DO NOTHING`, u.ID, t.region, doc)
	} else {
		n, err = t.exec("UPDATE usage_plans SET rev = rev + 1, doc = $1 WHERE id = $2 AND region = $3 AND rev = $4",
			doc, u.ID, t.region, u.Rev)
	}
	if err := t.wrote(n, err, kindUsagePlan, u.ID, "usage plan %s", u.ID); err != nil {
		return err
	}
	u.Rev++
	return nil
}

// DeleteUsagePlan removes the plan; its usage plan keys go with it (ON DELETE CASCADE).
func (t *tx) DeleteUsagePlan(id string) error {
	n, err := t.exec("DELETE FROM usage_plans WHERE id = $1 AND region = $2", id, t.region)
	return t.deleted(n, err, kindUsagePlan, id, "usage plan %s", id)
}

// ListUsagePlans lists newest first, optionally only the plans holding keyID.
func (t *tx) ListUsagePlans(keyID string, p store.Page) ([]*apigw.UsagePlan, string, error) {
	bound, limit, err := pageBounds(p, true)
	if err != nil {
		return nil, "", err
	}
	if keyID == "" {
		return listPage(t, p, `SELECT seq, rev, doc FROM usage_plans
			WHERE region = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`,
			[]any{t.region, bound, limit}, setPlanRev)
	}
	return listPage(t, p, `SELECT p.seq, p.rev, p.doc FROM usage_plans p
		JOIN usage_plan_keys k ON k.plan_id = p.id AND k.key_id = $1
		WHERE p.region = $2 AND p.seq < $3 ORDER BY p.seq DESC LIMIT $4`,
		[]any{keyID, t.region, bound, limit}, setPlanRev)
}

// GetUsagePlanKey returns the association of keyID with planID.
func (t *tx) GetUsagePlanKey(planID, keyID string) (*apigw.UsagePlanKey, error) {
	var doc string
	err := t.queryRow([]any{&doc}, "SELECT doc FROM usage_plan_keys WHERE plan_id = $1 AND key_id = $2 AND region = $3",
		planID, keyID, t.region)
	if err != nil {
		return nil, wrapNotFound(err, "usage plan key %s/%s", planID, keyID)
	}
	k := new(apigw.UsagePlanKey)
	if err := decode(doc, k); err != nil {
		return nil, err
	}
	return k, nil
}

// PutUsagePlanKey inserts the association: ErrConflict if present, ErrNotFound if the plan or
// the key is not in this region (the foreign keys alone would accept another region's rows, and
// a violated foreign key would abort the transaction). The write lock keeps the checked parents
// from disappearing before the insert.
func (t *tx) PutUsagePlanKey(k *apigw.UsagePlanKey) error {
	if !t.write {
		return errReadOnly
	}
	for _, c := range []struct{ table, id string }{{"usage_plans", k.PlanID}, {"api_keys", k.KeyID}} {
		ok, err := t.exists("SELECT 1 FROM "+c.table+" WHERE id = $1 AND region = $2", c.id, t.region)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: %s %s", store.ErrNotFound, c.table, c.id)
		}
	}
	doc, err := encode(k)
	if err != nil {
		return err
	}
	n, err := t.exec(`INSERT INTO usage_plan_keys (plan_id, key_id, region, seq, doc) VALUES ($1, $2, $3, nextval('item_seq'), $4)
		ON CONFLICT DO NOTHING`, k.PlanID, k.KeyID, t.region, doc)
	return t.wrote(n, err, kindUsagePlanKey, k.PlanID+"/"+k.KeyID, "usage plan key %s/%s", k.PlanID, k.KeyID)
}

// DeleteUsagePlanKey removes the association.
func (t *tx) DeleteUsagePlanKey(planID, keyID string) error {
	n, err := t.exec("DELETE FROM usage_plan_keys WHERE plan_id = $1 AND key_id = $2 AND region = $3", planID, keyID, t.region)
	return t.deleted(n, err, kindUsagePlanKey, planID+"/"+keyID, "usage plan key %s/%s", planID, keyID)
}

// ListUsagePlanKeys lists the plan's keys, most recently associated first; the cursor is the
// association's seq.
func (t *tx) ListUsagePlanKeys(planID, namePrefix string, p store.Page) ([]*apigw.ApiKey, string, error) {
	bound, limit, err := pageBounds(p, true)
	if err != nil {
		return nil, "", err
	}
	q := `SELECT pk.seq, k.rev, k.doc FROM usage_plan_keys pk JOIN api_keys k ON k.id = pk.key_id
		WHERE pk.plan_id = $1 AND pk.region = $2`
	args := []any{planID, t.region}
	if namePrefix != "" {
		args = append(args, namePrefix)
		q += " AND starts_with(k.name, $3)"
	}
	q += fmt.Sprintf(" AND pk.seq < $%d ORDER BY pk.seq DESC LIMIT $%d", len(args)+1, len(args)+2)
	return listPage(t, p, q, append(args, bound, limit), setKeyRev)
}

// PlanIDsOfKey lists the ids of the plans holding the key, in the order it was added to them.
func (t *tx) PlanIDsOfKey(keyID string) ([]string, error) {
	rows, err := t.tx.Query(t.ctx, "SELECT plan_id FROM usage_plan_keys WHERE key_id = $1 AND region = $2 ORDER BY seq", keyID, t.region)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
