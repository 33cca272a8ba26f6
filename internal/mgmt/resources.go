package mgmt

import (
	"net/http"

	"github.com/tollgate/tollgate/internal/awswire"
	"github.com/tollgate/tollgate/internal/control"
)

// resourceRoutes serves an API's resource tree (addendum §4). CreateResource POSTs to the
// parent's URL.
func (s *Server) resourceRoutes() []route {
	const one = "/restapis/{restapi_id}/resources/{resource_id}"
	return []route{
		{method: http.MethodGet, pattern: "/restapis/{restapi_id}/resources", op: "GetResources", h: s.getResources},
		{method: http.MethodGet, pattern: one, op: "GetResource", h: s.getResource},
		{method: http.MethodPost, pattern: "/restapis/{restapi_id}/resources/{parent_id}", op: "CreateResource", h: s.createResource},
		{method: http.MethodPatch, pattern: one, op: "UpdateResource", h: s.updateResource},
		{method: http.MethodDelete, pattern: one, op: "DeleteResource", h: s.deleteResource},
	}
}

// embedMethods reports whether ?embed= asks for full methods (repeated or comma form).
func embedMethods(r *Request) bool { return listQueryHas(r, "embed", "methods") }

func resourceOf(v control.ResourceView, embed bool) awswire.Resource {
	return awswire.ResourceOf(v.Resource, v.Path, embed)
}

func (s *Server) getResources(w http.ResponseWriter, r *Request) error {
	cursor, limit, err := page(r)
	if err != nil {
		return err
	}
	pg, err := s.svc.GetResources(r.Context(), r.Region, r.Param("restapi_id"), cursor, limit)
	if err != nil {
		return err
	}
	embed := embedMethods(r)
	out := awswire.Resources{Item: make([]awswire.Resource, 0, len(pg.Items)), Position: awswire.EncodePosition(pg.Next)}
	for _, v := range pg.Items {
		out.Item = append(out.Item, resourceOf(v, embed))
	}
	awswire.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getResource(w http.ResponseWriter, r *Request) error {
	v, err := s.svc.GetResource(r.Context(), r.Region, r.Param("restapi_id"), r.Param("resource_id"))
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, resourceOf(v, embedMethods(r)))
	return nil
}

func (s *Server) createResource(w http.ResponseWriter, r *Request) error {
	var in control.CreateResourceInput
	if err := decode(r.Body, &in); err != nil {
		return err
	}
	v, err := s.svc.CreateResource(r.Context(), r.Region, r.Param("restapi_id"), r.Param("parent_id"), in)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusCreated, resourceOf(v, false))
	return nil
}

func (s *Server) updateResource(w http.ResponseWriter, r *Request) error {
	ops, err := patchOps(r)
	if err != nil {
		return err
	}
	v, err := s.svc.UpdateResource(r.Context(), r.Region, r.Param("restapi_id"), r.Param("resource_id"), ops)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, resourceOf(v, false))
	return nil
}

func (s *Server) deleteResource(w http.ResponseWriter, r *Request) error {
	if err := s.svc.DeleteResource(r.Context(), r.Region, r.Param("restapi_id"), r.Param("resource_id")); err != nil {
		return err
	}
	awswire.WriteEmpty(w, http.StatusAccepted)
	return nil
}
