package mgmt

import (
	"net/http"
	"strings"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/openapi"
)

// exportRoutes serve GetExport: a stage's deployment as OpenAPI 3.0 or Swagger 2.0.
func (s *Server) exportRoutes() []route {
	return []route{{method: http.MethodGet, pattern: "/restapis/{restapi_id}/stages/{stage_name}/exports/{export_type}", op: "GetExport", h: s.getExport}}
}

// getExport writes the export as AWS does: application/octet-stream with a file name of the
// type and the API's version; ?extensions= (integrations, authorizers, apigateway — comma
// separated or repeated) adds API Gateway's extensions; Accept application/yaml writes YAML.
func (s *Server) getExport(w http.ResponseWriter, r *Request) error {
	typ := r.Param("export_type")
	if typ != openapi.ExportOAS30 && typ != openapi.ExportSwagger {
		return apigw.BadRequest("Invalid export type specified: %s. Valid values are oas30 and swagger", typ)
	}
	a, d, err := s.svc.ExportStage(r.Context(), r.Region, r.Param("restapi_id"), r.Param("stage_name"))
	if err != nil {
		return err
	}
	o := openapi.ExportOptions{Type: typ, Stage: r.Param("stage_name"), Host: a.ID + ".execute-api." + r.Region + ".amazonaws.com"}
	for _, v := range r.URL.Query()["extensions"] {
		for _, ext := range strings.Split(v, ",") {
			switch strings.TrimSpace(ext) {
			case "integrations":
				o.Integrations = true
			case "authorizers":
				o.Authorizers = true
			case "apigateway":
				o.Integrations, o.Authorizers, o.APIGateway = true, true, true
			case "postman", "":
			default:
				return apigw.BadRequest("Invalid extensions specified: %s. Valid values are integrations, authorizers, apigateway and postman", ext)
			}
		}
	}
	ext := ".json"
	// The SDKs may send their own Accept beside the accepts member: every value counts.
	switch accept := strings.Join(r.Header.Values("Accept"), ","); {
	case strings.Contains(accept, "application/yaml"):
		o.YAML, ext = true, ".yaml"
	case accept == "" || strings.Contains(accept, "application/json") || strings.Contains(accept, "*/*"):
	default:
		return apigw.BadRequest("Invalid accept type specified: %s. Valid values are application/json and application/yaml", accept)
	}
	body, err := openapi.Export(a, d, o)
	if err != nil {
		return err
	}
	version := a.Version
	if version == "" {
		version = d.CreatedDate.UTC().Format("2006-01-02T15:04:05Z")
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+typ+"_"+strings.NewReplacer(`"`, "", "\\", "").Replace(version)+ext+`"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return nil
}
