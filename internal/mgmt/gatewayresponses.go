package mgmt

import (
	"net/http"

	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/awswire"
	"github.com/tollgate/tollgate/internal/control"
)

// gatewayResponseRoutes serves an API's gateway responses. They take effect on the data plane at
// the next deployment, as on AWS.
func (s *Server) gatewayResponseRoutes() []route {
	const one = "/restapis/{restapi_id}/gatewayresponses/{response_type}"
	return []route{
		{method: http.MethodPut, pattern: one, op: "PutGatewayResponse", h: s.putGatewayResponse},
		{method: http.MethodGet, pattern: one, op: "GetGatewayResponse", h: s.getGatewayResponse},
		{method: http.MethodPatch, pattern: one, op: "UpdateGatewayResponse", h: s.updateGatewayResponse},
		{method: http.MethodDelete, pattern: one, op: "DeleteGatewayResponse", h: s.deleteGatewayResponse},
		{method: http.MethodGet, pattern: "/restapis/{restapi_id}/gatewayresponses", op: "GetGatewayResponses", h: s.getGatewayResponses},
	}
}

func (s *Server) putGatewayResponse(w http.ResponseWriter, r *Request) error {
	var in control.GatewayResponseInput
	if err := decode(r.Body, &in); err != nil {
		return err
	}
	g, err := s.svc.PutGatewayResponse(r.Context(), r.Region, r.Param("restapi_id"), r.Param("response_type"), in)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusCreated, awswire.GatewayResponseOf(g, false))
	return nil
}

func (s *Server) getGatewayResponse(w http.ResponseWriter, r *Request) error {
	g, def, err := s.svc.GetGatewayResponse(r.Context(), r.Region, r.Param("restapi_id"), r.Param("response_type"))
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.GatewayResponseOf(g, def))
	return nil
}

func (s *Server) updateGatewayResponse(w http.ResponseWriter, r *Request) error {
	ops, err := patch.Decode(r.Body, "updateGatewayResponseInput")
	if err != nil {
		return err
	}
	g, err := s.svc.UpdateGatewayResponse(r.Context(), r.Region, r.Param("restapi_id"), r.Param("response_type"), ops)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.GatewayResponseOf(g, false))
	return nil
}

func (s *Server) deleteGatewayResponse(w http.ResponseWriter, r *Request) error {
	if err := s.svc.DeleteGatewayResponse(r.Context(), r.Region, r.Param("restapi_id"), r.Param("response_type")); err != nil {
		return err
	}
	awswire.WriteEmpty(w, http.StatusAccepted)
	return nil
}

// getGatewayResponses lists every type by name, all of them: the model says the collection has
// no pagination, so limit and position are checked but do not cut it.
func (s *Server) getGatewayResponses(w http.ResponseWriter, r *Request) error {
	if _, _, err := page(r); err != nil {
		return err
	}
	items, err := s.svc.GetGatewayResponses(r.Context(), r.Region, r.Param("restapi_id"))
	if err != nil {
		return err
	}
	out := awswire.GatewayResponses{Items: make([]awswire.GatewayResponse, 0, len(items))}
	for _, it := range items {
		out.Items = append(out.Items, awswire.GatewayResponseOf(it.GatewayResponse, it.Default))
	}
	awswire.WriteJSON(w, http.StatusOK, out)
	return nil
}
