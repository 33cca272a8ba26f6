package mgmt

import (
	"net/http"

	"github.com/tollgate/tollgate/internal/awswire"
	"github.com/tollgate/tollgate/internal/control"
)

// Path prefixes of the method-level routes.
const (
	methodPath         = "/restapis/{restapi_id}/resources/{resource_id}/methods/{http_method}"
	methodResponsePath = methodPath + "/responses/{status_code}"
)

// methodRoutes serves methods and method responses (addendum §5.1–§5.6) and, through
// integrationRoutes, integrations. Status codes follow the model: method-level deletes answer
// 204 and UpdateMethodResponse 201.
func (s *Server) methodRoutes() []route {
	rs := []route{
		{method: http.MethodPut, pattern: methodPath, op: "PutMethod", h: s.putMethod},
		{method: http.MethodGet, pattern: methodPath, op: "GetMethod", h: s.getMethod},
		{method: http.MethodPatch, pattern: methodPath, op: "UpdateMethod", h: s.updateMethod},
		{method: http.MethodDelete, pattern: methodPath, op: "DeleteMethod", h: s.deleteMethod},
		{method: http.MethodPut, pattern: methodResponsePath, op: "PutMethodResponse", h: s.putMethodResponse},
		{method: http.MethodGet, pattern: methodResponsePath, op: "GetMethodResponse", h: s.getMethodResponse},
		{method: http.MethodPatch, pattern: methodResponsePath, op: "UpdateMethodResponse", h: s.updateMethodResponse},
		{method: http.MethodDelete, pattern: methodResponsePath, op: "DeleteMethodResponse", h: s.deleteMethodResponse},
	}
	return append(rs, s.integrationRoutes()...)
}

// target is the API, resource, verb and (where present) status code a method-level call names.
type target struct{ api, resource, verb, code string }

func targetOf(r *Request) target {
	return target{r.Param("restapi_id"), r.Param("resource_id"), r.Param("http_method"), r.Param("status_code")}
}

func (s *Server) putMethod(w http.ResponseWriter, r *Request) error {
	var in control.PutMethodInput
	if err := decode(r.Body, &in); err != nil {
		return err
	}
	t := targetOf(r)
	m, err := s.svc.PutMethod(r.Context(), r.Region, t.api, t.resource, t.verb, in)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusCreated, awswire.MethodOf(m, false))
	return nil
}

func (s *Server) getMethod(w http.ResponseWriter, r *Request) error {
	t := targetOf(r)
	m, err := s.svc.GetMethod(r.Context(), r.Region, t.api, t.resource, t.verb)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.MethodOf(m, true))
	return nil
}

func (s *Server) updateMethod(w http.ResponseWriter, r *Request) error {
	ops, err := patchOps(r)
	if err != nil {
		return err
	}
	t := targetOf(r)
	m, err := s.svc.UpdateMethod(r.Context(), r.Region, t.api, t.resource, t.verb, ops)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.MethodOf(m, true))
	return nil
}

func (s *Server) deleteMethod(w http.ResponseWriter, r *Request) error {
	t := targetOf(r)
	if err := s.svc.DeleteMethod(r.Context(), r.Region, t.api, t.resource, t.verb); err != nil {
		return err
	}
	awswire.WriteEmpty(w, http.StatusNoContent)
	return nil
}

func (s *Server) putMethodResponse(w http.ResponseWriter, r *Request) error {
	var in control.MethodResponseInput
	if err := decode(r.Body, &in); err != nil {
		return err
	}
	t := targetOf(r)
	mr, err := s.svc.PutMethodResponse(r.Context(), r.Region, t.api, t.resource, t.verb, t.code, in)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusCreated, awswire.MethodResponseOf(mr))
	return nil
}

func (s *Server) getMethodResponse(w http.ResponseWriter, r *Request) error {
	t := targetOf(r)
	mr, err := s.svc.GetMethodResponse(r.Context(), r.Region, t.api, t.resource, t.verb, t.code)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.MethodResponseOf(mr))
	return nil
}

// updateMethodResponse answers 201, as the model says (addendum §11.1).
func (s *Server) updateMethodResponse(w http.ResponseWriter, r *Request) error {
	ops, err := patchOps(r)
	if err != nil {
		return err
	}
	t := targetOf(r)
	mr, err := s.svc.UpdateMethodResponse(r.Context(), r.Region, t.api, t.resource, t.verb, t.code, ops)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusCreated, awswire.MethodResponseOf(mr))
	return nil
}

func (s *Server) deleteMethodResponse(w http.ResponseWriter, r *Request) error {
	t := targetOf(r)
	if err := s.svc.DeleteMethodResponse(r.Context(), r.Region, t.api, t.resource, t.verb, t.code); err != nil {
		return err
	}
	awswire.WriteEmpty(w, http.StatusNoContent)
	return nil
}
