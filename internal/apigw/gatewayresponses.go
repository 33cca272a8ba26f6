package apigw

import (
	"maps"
	"slices"
)

// GatewayResponse is a REST API's customisation of one gateway response type: the status code,
// the headers (responseParameters, "gatewayresponse.header.X" → 'static' or
// method.request.{path,querystring,header}.Y) and the body templates by content type.
// StatusCode "" means the type's own (DEFAULT_4XX and DEFAULT_5XX have none).
type GatewayResponse struct {
	ResponseType       string            `json:"responseType"`
	StatusCode         string            `json:"statusCode,omitempty"`
	ResponseParameters map[string]string `json:"responseParameters,omitempty"`
	ResponseTemplates  map[string]string `json:"responseTemplates,omitempty"`
}

// DefaultGatewayTemplate is every default gateway response's body template.
const DefaultGatewayTemplate = `{"message":$context.error.messageString}`

// GatewayResponseTypes are the types in the order AWS's enum check prints them (recorded).
var GatewayResponseTypes = []string{"REQUEST_TOO_LARGE", "RESOURCE_NOT_FOUND", "AUTHORIZER_CONFIGURATION_ERROR",
	"MISSING_AUTHENTICATION_TOKEN", "BAD_REQUEST_BODY", "INVALID_SIGNATURE", "INVALID_API_KEY", "BAD_REQUEST_PARAMETERS",
	"AUTHORIZER_FAILURE", "UNAUTHORIZED", "INTEGRATION_TIMEOUT", "ACCESS_DENIED", "DEFAULT_4XX", "DEFAULT_5XX",
	"WAF_FILTERED", "QUOTA_EXCEEDED", "THROTTLED", "API_CONFIGURATION_ERROR", "UNSUPPORTED_MEDIA_TYPE",
	"INTEGRATION_FAILURE", "EXPIRED_TOKEN"}

// gatewayDefaultStatus is each type's default status code (AWS's developer guide, and the
// defaults GetGatewayResponses lists on a new API); the DEFAULT_ types have none.
var gatewayDefaultStatus = map[string]string{
	"ACCESS_DENIED": "403", "API_CONFIGURATION_ERROR": "500", "AUTHORIZER_CONFIGURATION_ERROR": "500",
	"AUTHORIZER_FAILURE": "500", "BAD_REQUEST_PARAMETERS": "400", "BAD_REQUEST_BODY": "400",
	"EXPIRED_TOKEN": "403", "INTEGRATION_FAILURE": "504", "INTEGRATION_TIMEOUT": "504",
	"INVALID_API_KEY": "403", "INVALID_SIGNATURE": "403", "MISSING_AUTHENTICATION_TOKEN": "403",
	"QUOTA_EXCEEDED": "429", "REQUEST_TOO_LARGE": "413", "RESOURCE_NOT_FOUND": "404",
	"THROTTLED": "429", "UNAUTHORIZED": "401", "UNSUPPORTED_MEDIA_TYPE": "415", "WAF_FILTERED": "403",
}

// ValidGatewayResponseType reports whether t is one of the enum's values.
func ValidGatewayResponseType(t string) bool { return slices.Contains(GatewayResponseTypes, t) }

// GatewayDefaultStatus is a type's default status code ("" for DEFAULT_4XX and DEFAULT_5XX).
func GatewayDefaultStatus(t string) string { return gatewayDefaultStatus[t] }

// GatewayResponseClass is the DEFAULT_ type a response type falls back to: by its default status
// code, DEFAULT_5XX for 5xx and DEFAULT_4XX otherwise ("" for the DEFAULT_ types themselves).
func GatewayResponseClass(t string) string {
	s := gatewayDefaultStatus[t]
	switch {
	case s == "":
		return ""
	case s[0] == '5':
		return "DEFAULT_5XX"
	}
	return "DEFAULT_4XX"
}

// NewDefaultGatewayResponse is the response of type t as API Gateway generates it.
func NewDefaultGatewayResponse(t string) *GatewayResponse {
	return &GatewayResponse{ResponseType: t, StatusCode: gatewayDefaultStatus[t],
		ResponseParameters: map[string]string{}, ResponseTemplates: map[string]string{"application/json": DefaultGatewayTemplate}}
}

// EffectiveGatewayResponse is the response of type t an API with customisations custom gives,
// and whether it is a default one (defaultResponse). A type the API did not customise inherits
// its class's customisation (DEFAULT_4XX or DEFAULT_5XX): that one's parameters and templates,
// and its status code when it has one, while staying a default response — as AWS lists them.
func EffectiveGatewayResponse(custom map[string]*GatewayResponse, t string) (*GatewayResponse, bool) {
	if gr := custom[t]; gr != nil {
		return gr.Clone(), false
	}
	gr := NewDefaultGatewayResponse(t)
	if class := custom[GatewayResponseClass(t)]; class != nil {
		if class.StatusCode != "" {
			gr.StatusCode = class.StatusCode
		}
		gr.ResponseParameters = maps.Clone(class.ResponseParameters)
		gr.ResponseTemplates = maps.Clone(class.ResponseTemplates)
		if gr.ResponseParameters == nil {
			gr.ResponseParameters = map[string]string{}
		}
		if gr.ResponseTemplates == nil {
			gr.ResponseTemplates = map[string]string{}
		}
	}
	return gr, true
}

// Clone copies a gateway response deeply.
func (g *GatewayResponse) Clone() *GatewayResponse {
	c := *g
	c.ResponseParameters = maps.Clone(g.ResponseParameters)
	c.ResponseTemplates = maps.Clone(g.ResponseTemplates)
	if c.ResponseParameters == nil {
		c.ResponseParameters = map[string]string{}
	}
	if c.ResponseTemplates == nil {
		c.ResponseTemplates = map[string]string{}
	}
	return &c
}

// CloneGatewayResponses copies an API's customisations (for a deployment).
func CloneGatewayResponses(m map[string]*GatewayResponse) map[string]*GatewayResponse {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]*GatewayResponse, len(m))
	for k, v := range m {
		out[k] = v.Clone()
	}
	return out
}
