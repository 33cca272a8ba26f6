package mgmt

import (
	"net/http"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/authorizer"

	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/awswire"
	"github.com/tollgate/tollgate/internal/control"
)

// authorizerRoutes serve an API's authorizers. Like every part of an API's definition they take
// effect on the data plane at the next deployment.
func (s *Server) authorizerRoutes() []route {
	const one = "/restapis/{restapi_id}/authorizers/{authorizer_id}"
	return []route{
		{method: http.MethodPost, pattern: "/restapis/{restapi_id}/authorizers", op: "CreateAuthorizer", h: s.createAuthorizer},
		{method: http.MethodGet, pattern: "/restapis/{restapi_id}/authorizers", op: "GetAuthorizers", h: s.getAuthorizers},
		{method: http.MethodGet, pattern: one, op: "GetAuthorizer", h: s.getAuthorizer},
		{method: http.MethodPatch, pattern: one, op: "UpdateAuthorizer", h: s.updateAuthorizer},
		{method: http.MethodDelete, pattern: one, op: "DeleteAuthorizer", h: s.deleteAuthorizer},
		{method: http.MethodPost, pattern: one, op: "TestInvokeAuthorizer", h: s.testInvokeAuthorizer},
		{method: http.MethodDelete, pattern: "/restapis/{restapi_id}/stages/{stage_name}/cache/authorizers", op: "FlushStageAuthorizersCache", h: s.flushAuthorizersCache},
	}
}

func (s *Server) createAuthorizer(w http.ResponseWriter, r *Request) error {
	var in control.AuthorizerInput
	if err := decode(r.Body, &in); err != nil {
		return err
	}
	a, err := s.svc.CreateAuthorizer(r.Context(), r.Region, r.Param("restapi_id"), in)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusCreated, awswire.AuthorizerOf(a))
	return nil
}

func (s *Server) getAuthorizers(w http.ResponseWriter, r *Request) error {
	cursor, limit, err := page(r)
	if err != nil {
		return err
	}
	p, err := s.svc.GetAuthorizers(r.Context(), r.Region, r.Param("restapi_id"), cursor, limit)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.AuthorizersOf(p.Items, p.Next))
	return nil
}

func (s *Server) getAuthorizer(w http.ResponseWriter, r *Request) error {
	a, err := s.svc.GetAuthorizer(r.Context(), r.Region, r.Param("restapi_id"), r.Param("authorizer_id"))
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.AuthorizerOf(a))
	return nil
}

func (s *Server) updateAuthorizer(w http.ResponseWriter, r *Request) error {
	ops, err := patch.Decode(r.Body, "updateAuthorizerInput")
	if err != nil {
		return err
	}
	a, err := s.svc.UpdateAuthorizer(r.Context(), r.Region, r.Param("restapi_id"), r.Param("authorizer_id"), ops)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.AuthorizerOf(a))
	return nil
}

func (s *Server) deleteAuthorizer(w http.ResponseWriter, r *Request) error {
	if err := s.svc.DeleteAuthorizer(r.Context(), r.Region, r.Param("restapi_id"), r.Param("authorizer_id")); err != nil {
		return err
	}
	awswire.WriteEmpty(w, http.StatusAccepted)
	return nil
}

func (s *Server) flushAuthorizersCache(w http.ResponseWriter, r *Request) error {
	if err := s.svc.FlushStageAuthorizersCache(r.Context(), r.Region, r.Param("restapi_id"), r.Param("stage_name")); err != nil {
		return err
	}
	awswire.WriteEmpty(w, http.StatusAccepted)
	return nil
}

// testInvokeAuthorizer runs an authorizer as written against a test request, through the data
// plane's authorizer runner (Server.Authorizers); without one it is a 500.
func (s *Server) testInvokeAuthorizer(w http.ResponseWriter, r *Request) error {
	var in authorizer.TestInput
	if err := decode(r.Body, &in); err != nil {
		return err
	}
	a, err := s.svc.GetAuthorizer(r.Context(), r.Region, r.Param("restapi_id"), r.Param("authorizer_id"))
	if err != nil {
		return err
	}
	if s.Authorizers == nil {
		return apigw.Errorf(apigw.KindInternal, "Internal server error")
	}
	awswire.WriteJSON(w, http.StatusOK, s.Authorizers.TestInvoke(r.Context(), r.Region, r.Param("restapi_id"), a, in))
	return nil
}
