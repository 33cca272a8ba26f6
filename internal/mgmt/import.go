package mgmt

import (
	"github.com/tollgate/tollgate/internal/openapi"
	"net/http"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/awswire"
	"github.com/tollgate/tollgate/internal/control"
)

// importRoutes serves ImportRestApi and PutRestApi (addendum §7.1, §7.2). Both take the OpenAPI
// document as the raw body, whatever its Content-Type, so they accept import-sized bodies.
func (s *Server) importRoutes() []route {
	return []route{
		{method: http.MethodPost, pattern: "/restapis", query: "mode=import", op: "ImportRestApi", limit: openapi.MaxDefinitionBytes, tooBig: openapi.MsgDefinitionTooLarge, h: s.importRestApi},
		{method: http.MethodPut, pattern: "/restapis/{restapi_id}", op: "PutRestApi", limit: openapi.MaxDefinitionBytes, tooBig: openapi.MsgDefinitionTooLarge, h: s.putRestApi},
	}
}

// importInput reads the query: failonwarnings, mode, and the `parameters` map, which SDKs spread
// as individual query parameters (basepath, endpointConfigurationTypes, ignore).
func importInput(r *Request) control.ImportInput {
	return control.ImportInput{
		Body:                       r.Body,
		FailOnWarnings:             boolQuery(r, "failonwarnings"),
		Mode:                       r.Query("mode"),
		BasePath:                   r.Query("basepath"),
		EndpointConfigurationTypes: r.Query("endpointConfigurationTypes"),
		Ignore:                     r.Query("ignore"),
	}
}

// importRestApi answers 201 without tags and with warnings only when there are some (§2.1).
func (s *Server) importRestApi(w http.ResponseWriter, r *Request) error {
	a, warnings, err := s.svc.ImportRestApi(r.Context(), r.Region, importInput(r))
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusCreated, restApiWithWarnings(a, awswire.TagsIfNonEmpty, warnings))
	return nil
}

// putRestApi answers 200 with tags always present (§2.1, §7.2).
func (s *Server) putRestApi(w http.ResponseWriter, r *Request) error {
	a, warnings, err := s.svc.PutRestApi(r.Context(), r.Region, r.Param("restapi_id"), importInput(r))
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, restApiWithWarnings(a, awswire.TagsAlways, warnings))
	return nil
}

func restApiWithWarnings(a *apigw.RestApi, mode awswire.TagsMode, warnings []string) awswire.RestApi {
	out := awswire.RestApiOf(a, mode)
	if len(warnings) > 0 {
		out.Warnings = warnings
	}
	return out
}
