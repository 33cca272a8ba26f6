package mgmt

import (
	"net/http"

	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/awswire"
)

// accountRoutes serves the per-region account resource (spec §3.18, §3.19).
func (s *Server) accountRoutes() []route {
	return []route{
		{method: http.MethodGet, pattern: "/account", op: "GetAccount", h: s.getAccount},
		{method: http.MethodPatch, pattern: "/account", op: "UpdateAccount", h: s.updateAccount},
	}
}

func (s *Server) getAccount(w http.ResponseWriter, r *Request) error {
	a, err := s.svc.GetAccount(r.Context(), r.Region)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.NewAccount(a))
	return nil
}

// updateAccount accepts an empty body or [] as "no change" (Terraform sends []).
func (s *Server) updateAccount(w http.ResponseWriter, r *Request) error {
	ops, err := patch.Decode(r.Body, "updateAccountInput")
	if err != nil {
		return err
	}
	a, err := s.svc.UpdateAccount(r.Context(), r.Region, ops)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.NewAccount(a))
	return nil
}
