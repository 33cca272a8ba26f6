package mgmt

import (
	"net/http"

	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/awswire"
	"github.com/tollgate/tollgate/internal/control"
)

// stageRoutes serves stages (addendum §6.5–§6.9).
func (s *Server) stageRoutes() []route {
	return []route{
		{method: http.MethodPost, pattern: "/restapis/{restapi_id}/stages", op: "CreateStage", h: s.createStage},
		{method: http.MethodGet, pattern: "/restapis/{restapi_id}/stages", op: "GetStages", h: s.getStages},
		{method: http.MethodGet, pattern: "/restapis/{restapi_id}/stages/{stage_name}", op: "GetStage", h: s.getStage},
		{method: http.MethodPatch, pattern: "/restapis/{restapi_id}/stages/{stage_name}", op: "UpdateStage", h: s.updateStage},
		{method: http.MethodDelete, pattern: "/restapis/{restapi_id}/stages/{stage_name}", op: "DeleteStage", h: s.deleteStage},
	}
}

func (s *Server) createStage(w http.ResponseWriter, r *Request) error {
	var in control.CreateStageInput
	if err := decode(r.Body, &in); err != nil {
		return err
	}
	st, err := s.svc.CreateStage(r.Context(), r.Region, r.Param("restapi_id"), in)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusCreated, awswire.StageOf(st))
	return nil
}

func (s *Server) getStages(w http.ResponseWriter, r *Request) error {
	ss, err := s.svc.GetStages(r.Context(), r.Region, r.Param("restapi_id"), r.Query("deploymentId"))
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.StagesOf(ss))
	return nil
}

func (s *Server) getStage(w http.ResponseWriter, r *Request) error {
	st, err := s.svc.GetStage(r.Context(), r.Region, r.Param("restapi_id"), r.Param("stage_name"))
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.StageOf(st))
	return nil
}

func (s *Server) updateStage(w http.ResponseWriter, r *Request) error {
	ops, err := patch.Decode(r.Body, "updateStageInput")
	if err != nil {
		return err
	}
	st, err := s.svc.UpdateStage(r.Context(), r.Region, r.Param("restapi_id"), r.Param("stage_name"), ops)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.StageOf(st))
	return nil
}

func (s *Server) deleteStage(w http.ResponseWriter, r *Request) error {
	if err := s.svc.DeleteStage(r.Context(), r.Region, r.Param("restapi_id"), r.Param("stage_name")); err != nil {
		return err
	}
	awswire.WriteEmpty(w, http.StatusAccepted)
	return nil
}
