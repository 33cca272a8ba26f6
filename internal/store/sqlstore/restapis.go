package sqlstore

import (
	"fmt"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

func setApiRev(a *apigw.RestApi, rev int64) { a.Rev = rev }

func setStageRev(s *apigw.Stage, rev int64) { s.Rev = rev }

// GetRestApi returns the API with that id.
func (t *Tx) GetRestApi(id string) (*apigw.RestApi, error) {
	var rev int64
	a, err := getDoc[apigw.RestApi](t, &rev, "SELECT rev, doc FROM rest_apis WHERE id = ? AND region = ?", id, t.region)
	if err != nil {
		return nil, wrapNotFound(err, "rest api %s", id)
	}
	a.Rev = rev
	return a, nil
}

// PutRestApi inserts (Rev 0) or updates an API with its resource tree.
func (t *Tx) PutRestApi(a *apigw.RestApi) error {
	if a.ID == "" {
		return t.d.errNoID("rest api without id")
	}
	doc, err := t.d.Encode(a)
	if err != nil {
		return err
	}
	var n int64
	if a.Rev == 0 {
		n, err = t.insert(`INSERT INTO rest_apis (id, region, seq, rev, doc) VALUES (?, ?, #seq, 1, ?)
			ON CONFLICT DO NOTHING`, 2, a.ID, t.region, doc)
	} else {
		n, err = t.exec("UPDATE rest_apis SET rev = rev + 1, doc = ? WHERE id = ? AND region = ? AND rev = ?",
			doc, a.ID, t.region, a.Rev)
	}
	if err := t.wrote(n, err, kindRestApi, a.ID, "rest api %s", a.ID); err != nil {
		return err
	}
	a.Rev++
	return nil
}

// DeleteRestApi removes the API; deployments and stages go with it (ON DELETE CASCADE).
func (t *Tx) DeleteRestApi(id string) error {
	n, err := t.exec("DELETE FROM rest_apis WHERE id = ? AND region = ?", id, t.region)
	return t.deleted(n, err, kindRestApi, id, "rest api %s", id)
}

// ListRestApis lists in creation order.
func (t *Tx) ListRestApis(p store.Page) ([]*apigw.RestApi, string, error) {
	bound, limit, err := t.pageBounds(p, false)
	if err != nil {
		return nil, "", err
	}
	return listPage(t, p, "SELECT seq, rev, doc FROM rest_apis WHERE region = ? AND seq > ? ORDER BY seq LIMIT ?",
		[]any{t.region, bound, limit}, setApiRev)
}

// apiInRegion is ErrNotFound unless the API exists in this region; children check it because the
// foreign key alone would accept another region's API (and in PostgreSQL a violation would
// abort the transaction).
func (t *Tx) apiInRegion(apiID string) error {
	ok, err := t.exists("SELECT 1 FROM rest_apis WHERE id = ? AND region = ?", apiID, t.region)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: rest api %s", store.ErrNotFound, apiID)
	}
	return nil
}

// GetDeployment returns the API's deployment with that id.
func (t *Tx) GetDeployment(apiID, id string) (*apigw.Deployment, error) {
	d, err := getDoc[apigw.Deployment](t, nil, "SELECT doc FROM deployments WHERE api_id = ? AND id = ? AND region = ?",
		apiID, id, t.region)
	if err != nil {
		return nil, wrapNotFound(err, "deployment %s/%s", apiID, id)
	}
	return d, nil
}

// PutDeployment inserts a deployment: ErrConflict if the id exists, ErrNotFound without its API.
func (t *Tx) PutDeployment(d *apigw.Deployment) error {
	if d.ID == "" {
		return t.d.errNoID("deployment without id")
	}
	if !t.write {
		return t.d.ErrReadOnly
	}
	if err := t.apiInRegion(d.ApiID); err != nil {
		return err
	}
	doc, err := t.d.Encode(d)
	if err != nil {
		return err
	}
	n, err := t.insert(`INSERT INTO deployments (api_id, id, region, seq, doc) VALUES (?, ?, ?, #seq, ?)
		ON CONFLICT DO NOTHING`, 3, d.ApiID, d.ID, t.region, doc)
	return t.wrote(n, err, kindDeployment, d.ApiID+"/"+d.ID, "deployment %s/%s", d.ApiID, d.ID)
}

// DeleteDeployment removes a deployment (stages pointing at it are the caller's business).
func (t *Tx) DeleteDeployment(apiID, id string) error {
	n, err := t.exec("DELETE FROM deployments WHERE api_id = ? AND id = ? AND region = ?", apiID, id, t.region)
	return t.deleted(n, err, kindDeployment, apiID+"/"+id, "deployment %s/%s", apiID, id)
}

// ListDeployments lists the API's deployments in creation order. Deployments have no rev; the
// query selects a BIGINT 0 in its place.
func (t *Tx) ListDeployments(apiID string, p store.Page) ([]*apigw.Deployment, string, error) {
	bound, limit, err := t.pageBounds(p, false)
	if err != nil {
		return nil, "", err
	}
	return listPage[apigw.Deployment](t, p,
		"SELECT seq, CAST(0 AS BIGINT), doc FROM deployments WHERE api_id = ? AND region = ? AND seq > ? ORDER BY seq LIMIT ?",
		[]any{apiID, t.region, bound, limit}, nil)
}

// GetStage returns the API's stage with that name.
func (t *Tx) GetStage(apiID, name string) (*apigw.Stage, error) {
	var rev int64
	s, err := getDoc[apigw.Stage](t, &rev, "SELECT rev, doc FROM stages WHERE api_id = ? AND name = ? AND region = ?",
		apiID, name, t.region)
	if err != nil {
		return nil, wrapNotFound(err, "stage %s/%s", apiID, name)
	}
	s.Rev = rev
	return s, nil
}

// PutStage inserts (Rev 0; ErrNotFound without its API) or updates a stage.
func (t *Tx) PutStage(s *apigw.Stage) error {
	if s.StageName == "" {
		return t.d.errNoID("stage without name")
	}
	if !t.write {
		return t.d.ErrReadOnly
	}
	doc, err := t.d.Encode(s)
	if err != nil {
		return err
	}
	key := s.ApiID + "/" + s.StageName
	var n int64
	if s.Rev == 0 {
		if err := t.apiInRegion(s.ApiID); err != nil {
			return err
		}
		n, err = t.insert(`INSERT INTO stages (api_id, name, region, seq, rev, doc) VALUES (?, ?, ?, #seq, 1, ?)
			ON CONFLICT DO NOTHING`, 3, s.ApiID, s.StageName, t.region, doc)
	} else {
		n, err = t.exec("UPDATE stages SET rev = rev + 1, doc = ? WHERE api_id = ? AND name = ? AND region = ? AND rev = ?",
			doc, s.ApiID, s.StageName, t.region, s.Rev)
	}
	if err := t.wrote(n, err, kindStage, key, "stage %s", key); err != nil {
		return err
	}
	s.Rev++
	return nil
}

// DeleteStage removes a stage.
func (t *Tx) DeleteStage(apiID, name string) error {
	n, err := t.exec("DELETE FROM stages WHERE api_id = ? AND name = ? AND region = ?", apiID, name, t.region)
	return t.deleted(n, err, kindStage, apiID+"/"+name, "stage %s/%s", apiID, name)
}

// ListStages lists the API's stages in creation order.
func (t *Tx) ListStages(apiID string) ([]*apigw.Stage, error) {
	items, _, err := listPage(t, store.Page{}, `SELECT seq, rev, doc FROM stages
		WHERE api_id = ? AND region = ? AND seq > ? ORDER BY seq LIMIT ?`,
		[]any{apiID, t.region, 0, t.d.NoLimit}, setStageRev)
	return items, err
}
