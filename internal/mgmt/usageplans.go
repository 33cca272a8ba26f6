package mgmt

import (
	"net/http"

	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/awswire"
	"github.com/tollgate/tollgate/internal/control"
)

// usagePlanRoutes serves usage plans and usage plan keys (spec §3.1–§3.9). GetUsage and
// UpdateUsage live with the usage routes.
func (s *Server) usagePlanRoutes() []route {
	return []route{
		{method: http.MethodPost, pattern: "/usageplans", op: "CreateUsagePlan", h: s.createUsagePlan},
		{method: http.MethodGet, pattern: "/usageplans", op: "GetUsagePlans", h: s.getUsagePlans},
		{method: http.MethodGet, pattern: "/usageplans/{usageplanId}", op: "GetUsagePlan", h: s.getUsagePlan},
		{method: http.MethodPatch, pattern: "/usageplans/{usageplanId}", op: "UpdateUsagePlan", h: s.updateUsagePlan},
		{method: http.MethodDelete, pattern: "/usageplans/{usageplanId}", op: "DeleteUsagePlan", h: s.deleteUsagePlan},
		{method: http.MethodPost, pattern: "/usageplans/{usageplanId}/keys", op: "CreateUsagePlanKey", h: s.createUsagePlanKey},
		{method: http.MethodGet, pattern: "/usageplans/{usageplanId}/keys", op: "GetUsagePlanKeys", h: s.getUsagePlanKeys},
		{method: http.MethodGet, pattern: "/usageplans/{usageplanId}/keys/{keyId}", op: "GetUsagePlanKey", h: s.getUsagePlanKey},
		{method: http.MethodDelete, pattern: "/usageplans/{usageplanId}/keys/{keyId}", op: "DeleteUsagePlanKey", h: s.deleteUsagePlanKey},
	}
}

// createUsagePlan answers 201; the response shows tags only when the request had a tags member.
func (s *Server) createUsagePlan(w http.ResponseWriter, r *Request) error {
	var in control.CreateUsagePlanInput
	if err := decode(r.Body, &in); err != nil {
		return err
	}
	p, err := s.svc.CreateUsagePlan(r.Context(), r.Region, in)
	if err != nil {
		return err
	}
	tags := awswire.PlanTagsNone
	if in.Tags != nil {
		tags = awswire.PlanTagsAlways
	}
	awswire.WriteJSON(w, http.StatusCreated, awswire.NewUsagePlan(p, tags))
	return nil
}

func (s *Server) getUsagePlans(w http.ResponseWriter, r *Request) error {
	cursor, limit, err := page(r)
	if err != nil {
		return err
	}
	pg, err := s.svc.GetUsagePlans(r.Context(), r.Region, r.Query("keyId"), cursor, limit)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.NewUsagePlans(pg.Items, pg.Next))
	return nil
}

func (s *Server) getUsagePlan(w http.ResponseWriter, r *Request) error {
	p, err := s.svc.GetUsagePlan(r.Context(), r.Region, r.Param("usageplanId"))
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.NewUsagePlan(p, awswire.PlanTagsAlways))
	return nil
}

func (s *Server) updateUsagePlan(w http.ResponseWriter, r *Request) error {
	ops, err := patch.Decode(r.Body, "updateUsagePlanInput")
	if err != nil {
		return err
	}
	p, err := s.svc.UpdateUsagePlan(r.Context(), r.Region, r.Param("usageplanId"), ops)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.NewUsagePlan(p, awswire.PlanTagsAlways))
	return nil
}

func (s *Server) deleteUsagePlan(w http.ResponseWriter, r *Request) error {
	if err := s.svc.DeleteUsagePlan(r.Context(), r.Region, r.Param("usageplanId")); err != nil {
		return err
	}
	awswire.WriteEmpty(w, http.StatusAccepted)
	return nil
}

func (s *Server) createUsagePlanKey(w http.ResponseWriter, r *Request) error {
	var in control.CreateUsagePlanKeyInput
	if err := decode(r.Body, &in); err != nil {
		return err
	}
	k, err := s.svc.CreateUsagePlanKey(r.Context(), r.Region, r.Param("usageplanId"), in)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusCreated, awswire.NewUsagePlanKey(k))
	return nil
}

func (s *Server) getUsagePlanKeys(w http.ResponseWriter, r *Request) error {
	cursor, limit, err := page(r)
	if err != nil {
		return err
	}
	pg, err := s.svc.GetUsagePlanKeys(r.Context(), r.Region, r.Param("usageplanId"), r.Query("name"), cursor, limit)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.NewUsagePlanKeys(pg.Items, pg.Next))
	return nil
}

func (s *Server) getUsagePlanKey(w http.ResponseWriter, r *Request) error {
	k, err := s.svc.GetUsagePlanKey(r.Context(), r.Region, r.Param("usageplanId"), r.Param("keyId"))
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.NewUsagePlanKey(k))
	return nil
}

func (s *Server) deleteUsagePlanKey(w http.ResponseWriter, r *Request) error {
	if err := s.svc.DeleteUsagePlanKey(r.Context(), r.Region, r.Param("usageplanId"), r.Param("keyId")); err != nil {
		return err
	}
	awswire.WriteEmpty(w, http.StatusAccepted)
	return nil
}
