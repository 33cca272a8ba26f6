package mgmt

import (
	"net/http"
	"strings"

	"github.com/tollgate/tollgate/internal/awswire"
	"github.com/tollgate/tollgate/internal/control"
)

// deploymentRoutes serves deployments (addendum §6.1–§6.4). UpdateDeployment is not served:
// deployments are immutable in the store.
func (s *Server) deploymentRoutes() []route {
	return []route{
		{method: http.MethodPost, pattern: "/restapis/{restapi_id}/deployments", op: "CreateDeployment", h: s.createDeployment},
		{method: http.MethodGet, pattern: "/restapis/{restapi_id}/deployments", op: "GetDeployments", h: s.getDeployments},
		{method: http.MethodGet, pattern: "/restapis/{restapi_id}/deployments/{deployment_id}", op: "GetDeployment", h: s.getDeployment},
		{method: http.MethodDelete, pattern: "/restapis/{restapi_id}/deployments/{deployment_id}", op: "DeleteDeployment", h: s.deleteDeployment},
	}
}

func (s *Server) createDeployment(w http.ResponseWriter, r *Request) error {
	var in control.CreateDeploymentInput
	if err := decode(r.Body, &in); err != nil {
		return err
	}
	d, err := s.svc.CreateDeployment(r.Context(), r.Region, r.Param("restapi_id"), in)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusCreated, awswire.DeploymentOf(d, false))
	return nil
}

func (s *Server) getDeployments(w http.ResponseWriter, r *Request) error {
	cursor, limit, err := page(r)
	if err != nil {
		return err
	}
	p, err := s.svc.GetDeployments(r.Context(), r.Region, r.Param("restapi_id"), cursor, limit)
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.DeploymentsOf(p.Items, p.Next))
	return nil
}

func (s *Server) getDeployment(w http.ResponseWriter, r *Request) error {
	d, err := s.svc.GetDeployment(r.Context(), r.Region, r.Param("restapi_id"), r.Param("deployment_id"))
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.DeploymentOf(d, listQueryHas(r, "embed", "apisummary")))
	return nil
}

func (s *Server) deleteDeployment(w http.ResponseWriter, r *Request) error {
	if err := s.svc.DeleteDeployment(r.Context(), r.Region, r.Param("restapi_id"), r.Param("deployment_id")); err != nil {
		return err
	}
	awswire.WriteEmpty(w, http.StatusAccepted)
	return nil
}

// listQuery reads a list-valued query parameter, accepting both the repeated form botocore
// sends (embed=a&embed=b) and the comma form the docs show (embed=a,b) (addendum §1.1).
func listQuery(r *Request, name string) []string {
	var out []string
	for _, v := range r.URL.Query()[name] {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// listQueryHas reports whether a list-valued query parameter holds want (case-insensitively).
func listQueryHas(r *Request, name, want string) bool {
	for _, v := range listQuery(r, name) {
		if strings.EqualFold(v, want) {
			return true
		}
	}
	return false
}
