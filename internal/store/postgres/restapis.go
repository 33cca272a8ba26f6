package postgres

import (
	"errors"
	"fmt"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

func setApiRev(a *apigw.RestApi, rev int64) { a.Rev = rev }

func setStageRev(s *apigw.Stage, rev int64) { s.Rev = rev }

// GetRestApi returns the API with that id.
func (t *tx) GetRestApi(id string) (*apigw.RestApi, error) {
	var rev int64
	var doc string
	if err := t.queryRow([]any{&rev, &doc}, "SELECT rev, doc FROM rest_apis WHERE id = $1 AND region = $2", id, t.region); err != nil {
		return nil, wrapNotFound(err, "rest api %s", id)
	}
	a := new(apigw.RestApi)
	if err := decode(doc, a); err != nil {
		return nil, err
	}
	a.Rev = rev
	return a, nil
}

// PutRestApi inserts (Rev 0) or updates an API with its resource tree.
func (t *tx) PutRestApi(a *apigw.RestApi) error {
	if a.ID == "" {
		return errors.New("postgres store: rest api without id")
	}
	doc, err := encode(a)
	if err != nil {
		return err
	}
	var n int64
	if a.Rev == 0 {
		n, err = t.exec(`INSERT INTO rest_apis (id, region, seq, rev, doc) VALUES ($1, $2, nextval('item_seq'), 1, $3)
			ON CONFLICT DO NOTHING`, a.ID, t.region, doc)
	} else {
		n, err = t.exec("UPDATE rest_apis SET rev = rev + 1, doc = $1 WHERE id = $2 AND region = $3 AND rev = $4",
			doc, a.ID, t.region, a.Rev)
	}
	if err := t.wrote(n, err, kindRestApi, a.ID, "rest api %s", a.ID); err != nil {
		return err
	}
	a.Rev++
	return nil
}

// DeleteRestApi removes the API; deployments and stages go with it (ON DELETE CASCADE).
func (t *tx) DeleteRestApi(id string) error {
	n, err := t.exec("DELETE FROM rest_apis WHERE id = $1 AND region = $2", id, t.region)
	return t.deleted(n, err, kindRestApi, id, "rest api %s", id)
}

// ListRestApis lists in creation order.
func (t *tx) ListRestApis(p store.Page) ([]*apigw.RestApi, string, error) {
	bound, limit, err := pageBounds(p, false)
	if err != nil {
		return nil, "", err
	}
	return listPage(t, p, "SELECT seq, rev, doc FROM rest_apis WHERE region = $1 AND seq > $2 ORDER BY seq LIMIT $3",
		[]any{t.region, bound, limit}, setApiRev)
}

// apiInRegion is ErrNotFound unless the API exists in this region; children check it because the
// foreign key alone would accept another region's API (and a violation would abort the
// transaction).
func (t *tx) apiInRegion(apiID string) error {
	ok, err := t.exists("SELECT 1 FROM rest_apis WHERE id = $1 AND region = $2", apiID, t.region)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: rest api %s", store.ErrNotFound, apiID)
	}
	return nil
}

// GetDeployment returns the API's deployment with that id.
func (t *tx) GetDeployment(apiID, id string) (*apigw.Deployment, error) {
	var doc string
	err := t.queryRow([]any{&doc}, "SELECT doc FROM deployments WHERE api_id = $1 AND id = $2 AND region = $3", apiID, id, t.region)
	if err != nil {
		return nil, wrapNotFound(err, "deployment %s/%s", apiID, id)
	}
	d := new(apigw.Deployment)
	if err := decode(doc, d); err != nil {
		return nil, err
	}
	return d, nil
}

// PutDeployment inserts a deployment: ErrConflict if the id exists, ErrNotFound without its API.
func (t *tx) PutDeployment(d *apigw.Deployment) error {
	if d.ID == "" {
		return errors.New("postgres store: deployment without id")
	}
	if !t.write {
		return errReadOnly
	}
	if err := t.apiInRegion(d.ApiID); err != nil {
		return err
	}
	doc, err := encode(d)
	if err != nil {
		return err
	}
	n, err := t.exec(`INSERT INTO deployments (api_id, id, region, seq, doc) VALUES ($1, $2, $3, nextval('item_seq'), $4)
		ON CONFLICT DO NOTHING`, d.ApiID, d.ID, t.region, doc)
	return t.wrote(n, err, kindDeployment, d.ApiID+"/"+d.ID, "deployment %s/%s", d.ApiID, d.ID)
}

// DeleteDeployment removes a deployment (stages pointing at it are the caller's business).
func (t *tx) DeleteDeployment(apiID, id string) error {
	n, err := t.exec("DELETE FROM deployments WHERE api_id = $1 AND id = $2 AND region = $3", apiID, id, t.region)
	return t.deleted(n, err, kindDeployment, apiID+"/"+id, "deployment %s/%s", apiID, id)
}

// ListDeployments lists the API's deployments in creation order.
func (t *tx) ListDeployments(apiID string, p store.Page) ([]*apigw.Deployment, string, error) {
	bound, limit, err := pageBounds(p, false)
	if err != nil {
		return nil, "", err
	}
	return listPage[apigw.Deployment](t, p,
		"SELECT seq, 0::bigint, doc FROM deployments WHERE api_id = $1 AND region = $2 AND seq > $3 ORDER BY seq LIMIT $4",
		[]any{apiID, t.region, bound, limit}, nil)
}

// GetStage returns the API's stage with that name.
func (t *tx) GetStage(apiID, name string) (*apigw.Stage, error) {
	var rev int64
	var doc string
	err := t.queryRow([]any{&rev, &doc}, "SELECT rev, doc FROM stages WHERE api_id = $1 AND name = $2 AND region = $3",
		apiID, name, t.region)
	if err != nil {
		return nil, wrapNotFound(err, "stage %s/%s", apiID, name)
	}
	s := new(apigw.Stage)
	if err := decode(doc, s); err != nil {
		return nil, err
	}
	s.Rev = rev
	return s, nil
}

// PutStage inserts (Rev 0; ErrNotFound without its API) or updates a stage.
func (t *tx) PutStage(s *apigw.Stage) error {
	if s.StageName == "" {
		return errors.New("postgres store: stage without name")
	}
	if !t.write {
		return errReadOnly
	}
	doc, err := encode(s)
	if err != nil {
		return err
	}
	key := s.ApiID + "/" + s.StageName
	var n int64
	if s.Rev == 0 {
		if err := t.apiInRegion(s.ApiID); err != nil {
			return err
		}
		n, err = t.exec(`INSERT INTO stages (api_id, name, region, seq, rev, doc) VALUES ($1, $2, $3, nextval('item_seq'), 1, $4)
			ON CONFLICT DO NOTHING`, s.ApiID, s.StageName, t.region, doc)
	} else {
		n, err = t.exec("UPDATE stages SET rev = rev + 1, doc = $1 WHERE api_id = $2 AND name = $3 AND region = $4 AND rev = $5",
			doc, s.ApiID, s.StageName, t.region, s.Rev)
	}
	if err := t.wrote(n, err, kindStage, key, "stage %s", key); err != nil {
		return err
	}
	s.Rev++
	return nil
}

// DeleteStage removes a stage.
func (t *tx) DeleteStage(apiID, name string) error {
	n, err := t.exec("DELETE FROM stages WHERE api_id = $1 AND name = $2 AND region = $3", apiID, name, t.region)
	return t.deleted(n, err, kindStage, apiID+"/"+name, "stage %s/%s", apiID, name)
}

// ListStages lists the API's stages in creation order.
func (t *tx) ListStages(apiID string) ([]*apigw.Stage, error) {
	items, _, err := listPage(t, store.Page{}, `SELECT seq, rev, doc FROM stages
		WHERE api_id = $1 AND region = $2 AND seq > $3 ORDER BY seq LIMIT $4`,
		[]any{apiID, t.region, 0, nil}, setStageRev)
	return items, err
}
