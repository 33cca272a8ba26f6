package mgmt

import (
	"net/http"

	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/awswire"
	"github.com/tollgate/tollgate/internal/control"
	"github.com/tollgate/tollgate/internal/store"
)

// apiKeyRoutes serves API keys and their CSV import (spec §3.12–§3.17). ImportApiKeys differs from
// CreateApiKey only by ?mode=import, and its body is a whole key file, hence big.
func (s *Server) apiKeyRoutes() []route {
	return []route{
		{method: http.MethodPost, pattern: "/apikeys", query: "mode=import", op: "ImportApiKeys", big: true, h: s.importApiKeys},
		{method: http.MethodPost, pattern: "/apikeys", op: "CreateApiKey", h: s.createApiKey},
		{method: http.MethodGet, pattern: "/apikeys", op: "GetApiKeys", h: s.getApiKeys},
		{method: http.MethodGet, pattern: "/apikeys/{api_Key}", op: "GetApiKey", h: s.getApiKey},
		{method: http.MethodPatch, pattern: "/apikeys/{api_Key}", op: "UpdateApiKey", h: s.updateApiKey},
		{method: http.MethodDelete, pattern: "/apikeys/{api_Key}", op: "DeleteApiKey", h: s.deleteApiKey},
	}
}

// createApiKey answers 201 with the value always shown; tags only when the request had a tags
// member (spec §2.1).
func (s *Server) createApiKey(w http.ResponseWriter, r *Request) error {
	var in control.CreateApiKeyInput
	if err := decode(r.Body, &in); err != nil {
		return err
	}
	k, err := s.svc.CreateApiKey(r.Context(), r.Region, in)
	if err != nil {
		return err
	}
	tags := awswire.KeyTagsNone
	if in.Tags != nil {
		tags = awswire.KeyTagsAlways
	}
	awswire.WriteJSON(w, http.StatusCreated, awswire.NewApiKey(k, true, tags))
	return nil
}

func (s *Server) getApiKeys(w http.ResponseWriter, r *Request) error {
	cursor, limit, err := page(r)
	if err != nil {
		return err
	}
	f := store.ApiKeyFilter{NamePrefix: r.Query("name"), CustomerID: r.Query("customerId")}
	pg, err := s.svc.GetApiKeys(r.Context(), r.Region, f, cursor, limit)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.NewApiKeys(pg.Items, pg.Next, boolQuery(r, "includeValues")))
	return nil
}

func (s *Server) getApiKey(w http.ResponseWriter, r *Request) error {
	k, err := s.svc.GetApiKey(r.Context(), r.Region, r.Param("api_Key"))
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.NewApiKey(k, boolQuery(r, "includeValue"), awswire.KeyTagsAlways))
	return nil
}

// updateApiKey never shows the value, and always shows tags (spec §2.1).
func (s *Server) updateApiKey(w http.ResponseWriter, r *Request) error {
	ops, err := patch.Decode(r.Body, "updateApiKeyInput")
	if err != nil {
		return err
	}
	k, err := s.svc.UpdateApiKey(r.Context(), r.Region, r.Param("api_Key"), ops)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.NewApiKey(k, false, awswire.KeyTagsAlways))
	return nil
}

func (s *Server) deleteApiKey(w http.ResponseWriter, r *Request) error {
	if err := s.svc.DeleteApiKey(r.Context(), r.Region, r.Param("api_Key")); err != nil {
		return err
	}
	awswire.WriteEmpty(w, http.StatusAccepted)
	return nil
}

// importApiKeys takes the raw file as the body, whatever its Content-Type (spec §1.1).
func (s *Server) importApiKeys(w http.ResponseWriter, r *Request) error {
	res, err := s.svc.ImportApiKeys(r.Context(), r.Region, control.ImportApiKeysInput{
		Format:         r.Query("format"),
		FailOnWarnings: boolQuery(r, "failonwarnings"),
		Body:           r.Body,
	})
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusCreated, awswire.NewApiKeyIds(res.IDs, res.Warnings))
	return nil
}
