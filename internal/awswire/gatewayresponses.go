package awswire

import "github.com/tollgate/tollgate/internal/apigw"

// GatewayResponse is the GatewayResponse shape: maps always present ({} when empty), statusCode
// absent for a DEFAULT_ type without one (recorded).
type GatewayResponse struct {
	DefaultResponse    bool              `json:"defaultResponse"`
	ResponseParameters map[string]string `json:"responseParameters"`
	ResponseTemplates  map[string]string `json:"responseTemplates"`
	ResponseType       string            `json:"responseType"`
	StatusCode         string            `json:"statusCode,omitempty"`
}

// GatewayResponseOf renders one gateway response.
func GatewayResponseOf(g *apigw.GatewayResponse, def bool) GatewayResponse {
	out := GatewayResponse{DefaultResponse: def, ResponseParameters: g.ResponseParameters, ResponseTemplates: g.ResponseTemplates,
		ResponseType: g.ResponseType, StatusCode: g.StatusCode}
	if out.ResponseParameters == nil {
		out.ResponseParameters = map[string]string{}
	}
	if out.ResponseTemplates == nil {
		out.ResponseTemplates = map[string]string{}
	}
	return out
}

// GatewayResponses is the GetGatewayResponses answer: the whole collection (the model says
// it has no pagination), under the wire name "item" as every API Gateway list.
type GatewayResponses struct {
	Items []GatewayResponse `json:"item"`
}
