package mgmt

import (
	"net/http"

	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/awswire"
	"github.com/tollgate/tollgate/internal/control"
)

// restApiRoutes serves REST APIs themselves (addendum §3). ImportRestApi (POST ?mode=import) and
// PutRestApi live in import.go.
func (s *Server) restApiRoutes() []route {
	return []route{
		{method: http.MethodPost, pattern: "/restapis", op: "CreateRestApi", h: s.createRestApi},
		{method: http.MethodGet, pattern: "/restapis", op: "GetRestApis", h: s.getRestApis},
		{method: http.MethodGet, pattern: "/restapis/{restapi_id}", op: "GetRestApi", h: s.getRestApi},
		{method: http.MethodPatch, pattern: "/restapis/{restapi_id}", op: "UpdateRestApi", h: s.updateRestApi},
		{method: http.MethodDelete, pattern: "/restapis/{restapi_id}", op: "DeleteRestApi", h: s.deleteRestApi},
	}
}

// createRestApi answers 201; tags appear only when the request carried them (§2.1).
func (s *Server) createRestApi(w http.ResponseWriter, r *Request) error {
	var in control.CreateRestApiInput
	if err := decode(r.Body, &in); err != nil {
		return err
	}
	a, err := s.svc.CreateRestApi(r.Context(), r.Region, in)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusCreated, awswire.RestApiOf(a, awswire.TagsIfSupplied))
	return nil
}

// getRestApis lists items with tags only when non-empty (§3.3).
func (s *Server) getRestApis(w http.ResponseWriter, r *Request) error {
	cursor, limit, err := page(r)
	if err != nil {
		return err
	}
	pg, err := s.svc.GetRestApis(r.Context(), r.Region, cursor, limit)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.RestApisOf(pg.Items, pg.Next))
	return nil
}

func (s *Server) getRestApi(w http.ResponseWriter, r *Request) error {
	a, err := s.svc.GetRestApi(r.Context(), r.Region, r.Param("restapi_id"))
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.RestApiOf(a, awswire.TagsAlways))
	return nil
}

func (s *Server) updateRestApi(w http.ResponseWriter, r *Request) error {
	ops, err := patchOps(r)
	if err != nil {
		return err
	}
	a, err := s.svc.UpdateRestApi(r.Context(), r.Region, r.Param("restapi_id"), ops)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.RestApiOf(a, awswire.TagsAlways))
	return nil
}

func (s *Server) deleteRestApi(w http.ResponseWriter, r *Request) error {
	if err := s.svc.DeleteRestApi(r.Context(), r.Region, r.Param("restapi_id")); err != nil {
		return err
	}
	awswire.WriteEmpty(w, http.StatusAccepted)
	return nil
}

// patchOps decodes an Update* body without validating the op enum: the use cases validate it,
// some together with path labels such as the status code (addendum §1.3).
func patchOps(r *Request) ([]patch.Op, error) {
	var req patch.Request
	if err := decode(r.Body, &req); err != nil {
		return nil, err
	}
	return req.PatchOperations, nil
}
