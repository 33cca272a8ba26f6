package mgmt

import (
	"net/http"

	"github.com/tollgate/tollgate/internal/awswire"
	"github.com/tollgate/tollgate/internal/control"
)

const (
	integrationPath         = methodPath + "/integration"
	integrationResponsePath = integrationPath + "/responses/{status_code}"
)

// integrationRoutes serves integrations and integration responses (addendum §5.7–§5.12).
func (s *Server) integrationRoutes() []route {
	return []route{
		{method: http.MethodPut, pattern: integrationPath, op: "PutIntegration", h: s.putIntegration},
		{method: http.MethodGet, pattern: integrationPath, op: "GetIntegration", h: s.getIntegration},
		{method: http.MethodPatch, pattern: integrationPath, op: "UpdateIntegration", h: s.updateIntegration},
		{method: http.MethodDelete, pattern: integrationPath, op: "DeleteIntegration", h: s.deleteIntegration},
		{method: http.MethodPut, pattern: integrationResponsePath, op: "PutIntegrationResponse", h: s.putIntegrationResponse},
		{method: http.MethodGet, pattern: integrationResponsePath, op: "GetIntegrationResponse", h: s.getIntegrationResponse},
		{method: http.MethodPatch, pattern: integrationResponsePath, op: "UpdateIntegrationResponse", h: s.updateIntegrationResponse},
		{method: http.MethodDelete, pattern: integrationResponsePath, op: "DeleteIntegrationResponse", h: s.deleteIntegrationResponse},
	}
}

// putIntegration answers 201 without integrationResponses (a new integration has none).
func (s *Server) putIntegration(w http.ResponseWriter, r *Request) error {
	var in control.PutIntegrationInput
	if err := decode(r.Body, &in); err != nil {
		return err
	}
	t := targetOf(r)
	i, err := s.svc.PutIntegration(r.Context(), r.Region, t.api, t.resource, t.verb, in)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusCreated, awswire.IntegrationOf(i, false))
	return nil
}

func (s *Server) getIntegration(w http.ResponseWriter, r *Request) error {
	t := targetOf(r)
	i, err := s.svc.GetIntegration(r.Context(), r.Region, t.api, t.resource, t.verb)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.IntegrationOf(i, true))
	return nil
}

func (s *Server) updateIntegration(w http.ResponseWriter, r *Request) error {
	ops, err := patchOps(r)
	if err != nil {
		return err
	}
	t := targetOf(r)
	i, err := s.svc.UpdateIntegration(r.Context(), r.Region, t.api, t.resource, t.verb, ops)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.IntegrationOf(i, false))
	return nil
}

func (s *Server) deleteIntegration(w http.ResponseWriter, r *Request) error {
	t := targetOf(r)
	if err := s.svc.DeleteIntegration(r.Context(), r.Region, t.api, t.resource, t.verb); err != nil {
		return err
	}
	awswire.WriteEmpty(w, http.StatusNoContent)
	return nil
}

func (s *Server) putIntegrationResponse(w http.ResponseWriter, r *Request) error {
	var in control.IntegrationResponseInput
	if err := decode(r.Body, &in); err != nil {
		return err
	}
	t := targetOf(r)
	ir, err := s.svc.PutIntegrationResponse(r.Context(), r.Region, t.api, t.resource, t.verb, t.code, in)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusCreated, awswire.IntegrationResponseOf(ir))
	return nil
}

func (s *Server) getIntegrationResponse(w http.ResponseWriter, r *Request) error {
	t := targetOf(r)
	ir, err := s.svc.GetIntegrationResponse(r.Context(), r.Region, t.api, t.resource, t.verb, t.code)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.IntegrationResponseOf(ir))
	return nil
}

func (s *Server) updateIntegrationResponse(w http.ResponseWriter, r *Request) error {
	ops, err := patchOps(r)
	if err != nil {
		return err
	}
	t := targetOf(r)
	ir, err := s.svc.UpdateIntegrationResponse(r.Context(), r.Region, t.api, t.resource, t.verb, t.code, ops)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.IntegrationResponseOf(ir))
	return nil
}

func (s *Server) deleteIntegrationResponse(w http.ResponseWriter, r *Request) error {
	t := targetOf(r)
	if err := s.svc.DeleteIntegrationResponse(r.Context(), r.Region, t.api, t.resource, t.verb, t.code); err != nil {
		return err
	}
	awswire.WriteEmpty(w, http.StatusNoContent)
	return nil
}
