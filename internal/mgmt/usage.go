package mgmt

import (
	"net/http"

	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/awswire"
)

// usageRoutes serves GetUsage and UpdateUsage (spec §3.10, §3.11).
func (s *Server) usageRoutes() []route {
	return []route{
		{method: http.MethodGet, pattern: "/usageplans/{usageplanId}/usage", op: "GetUsage", h: s.getUsage},
		{method: http.MethodPatch, pattern: "/usageplans/{usageplanId}/keys/{keyId}/usage", op: "UpdateUsage", h: s.updateUsage},
	}
}

func (s *Server) getUsage(w http.ResponseWriter, r *Request) error {
	cursor, limit, err := page(r)
	if err != nil {
		return err
	}
	u, err := s.svc.GetUsage(r.Context(), r.Region, r.Param("usageplanId"), r.Query("keyId"), r.Query("startDate"), r.Query("endDate"), cursor, limit)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.UsageOf(u.PlanID, u.StartDate, u.EndDate, awswire.EncodePosition(u.Next), u.Values))
	return nil
}

func (s *Server) updateUsage(w http.ResponseWriter, r *Request) error {
	ops, err := patch.Decode(r.Body, "updateUsageInput")
	if err != nil {
		return err
	}
	u, err := s.svc.UpdateUsage(r.Context(), r.Region, r.Param("usageplanId"), r.Param("keyId"), ops)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.UsageOf(u.PlanID, u.StartDate, u.EndDate, "", u.Values))
	return nil
}
