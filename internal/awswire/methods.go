package awswire

import "github.com/tollgate/tollgate/internal/apigw"

// Method is the wire form of a method (addendum §2.3). Maps are pointers so that a map the client
// supplied empty is echoed as {} while one never supplied is omitted.
type Method struct {
	HTTPMethod          string                    `json:"httpMethod"`
	AuthorizationType   string                    `json:"authorizationType"`
	AuthorizerID        string                    `json:"authorizerId,omitempty"`
	ApiKeyRequired      bool                      `json:"apiKeyRequired"`
	RequestValidatorID  string                    `json:"requestValidatorId,omitempty"`
	OperationName       string                    `json:"operationName,omitempty"`
	RequestParameters   *map[string]bool          `json:"requestParameters,omitempty"`
	RequestModels       *map[string]string        `json:"requestModels,omitempty"`
	MethodResponses     map[string]MethodResponse `json:"methodResponses,omitempty"`
	MethodIntegration   *Integration              `json:"methodIntegration,omitempty"`
	AuthorizationScopes []string                  `json:"authorizationScopes,omitempty"`
}

// MethodResponse is the wire form of a method response (addendum §2.4).
type MethodResponse struct {
	StatusCode         string             `json:"statusCode"`
	ResponseParameters *map[string]bool   `json:"responseParameters,omitempty"`
	ResponseModels     *map[string]string `json:"responseModels,omitempty"`
}

// Integration is the wire form of an integration (addendum §2.5).
type Integration struct {
	Type                 string                         `json:"type"`
	HTTPMethod           string                         `json:"httpMethod,omitempty"`
	URI                  string                         `json:"uri,omitempty"`
	ConnectionType       string                         `json:"connectionType,omitempty"`
	ConnectionID         string                         `json:"connectionId,omitempty"`
	Credentials          string                         `json:"credentials,omitempty"`
	RequestParameters    *map[string]string             `json:"requestParameters,omitempty"`
	RequestTemplates     *map[string]string             `json:"requestTemplates,omitempty"`
	PassthroughBehavior  string                         `json:"passthroughBehavior,omitempty"`
	ContentHandling      string                         `json:"contentHandling,omitempty"`
	TimeoutInMillis      int64                          `json:"timeoutInMillis"`
	CacheNamespace       string                         `json:"cacheNamespace,omitempty"`
	CacheKeyParameters   []string                       `json:"cacheKeyParameters"`
	TLSConfig            *TLSConfig                     `json:"tlsConfig,omitempty"`
	IntegrationResponses map[string]IntegrationResponse `json:"integrationResponses,omitempty"`
}

// TLSConfig is the wire form of an integration's TLS settings.
type TLSConfig struct {
	InsecureSkipVerification bool `json:"insecureSkipVerification"`
}

// IntegrationResponse is the wire form of an integration response (addendum §2.6). A nil
// template value is written as JSON null, as AWS does for templates set to "".
type IntegrationResponse struct {
	StatusCode         string              `json:"statusCode"`
	SelectionPattern   *string             `json:"selectionPattern,omitempty"`
	ResponseParameters *map[string]string  `json:"responseParameters,omitempty"`
	ResponseTemplates  *map[string]*string `json:"responseTemplates,omitempty"`
	ContentHandling    string              `json:"contentHandling,omitempty"`
}

// present returns &m when m was supplied (non-nil, possibly empty), nil otherwise.
func present[K comparable, V any](m map[K]V) *map[K]V {
	if m == nil {
		return nil
	}
	return &m
}

// MethodOf builds the wire Method. full adds methodResponses and methodIntegration (GetMethod,
// UpdateMethod, embed=methods); PutMethod's answer has neither.
func MethodOf(m *apigw.Method, full bool) Method {
	out := Method{
		HTTPMethod:          m.HTTPMethod,
		AuthorizationType:   m.AuthorizationType,
		AuthorizerID:        m.AuthorizerID,
		ApiKeyRequired:      m.ApiKeyRequired,
		RequestValidatorID:  m.RequestValidatorID,
		OperationName:       m.OperationName,
		RequestParameters:   present(m.RequestParameters),
		RequestModels:       present(m.RequestModels),
		AuthorizationScopes: m.AuthorizationScopes,
	}
	if !full {
		return out
	}
	if len(m.MethodResponses) > 0 {
		out.MethodResponses = make(map[string]MethodResponse, len(m.MethodResponses))
		for code, r := range m.MethodResponses {
			out.MethodResponses[code] = MethodResponseOf(r)
		}
	}
	if m.Integration != nil {
		i := IntegrationOf(m.Integration, true)
		out.MethodIntegration = &i
	}
	return out
}

// MethodResponseOf builds the wire MethodResponse.
func MethodResponseOf(r *apigw.MethodResponse) MethodResponse {
	return MethodResponse{
		StatusCode:         r.StatusCode,
		ResponseParameters: present(r.ResponseParameters),
		ResponseModels:     present(r.ResponseModels),
	}
}

// IntegrationOf builds the wire Integration. MOCK never echoes httpMethod and uri (§2.5);
// withResponses adds integrationResponses (GetIntegration, GetMethod).
func IntegrationOf(i *apigw.Integration, withResponses bool) Integration {
	out := Integration{
		Type:                i.Type,
		HTTPMethod:          i.HTTPMethod,
		URI:                 i.URI,
		ConnectionType:      i.ConnectionType,
		ConnectionID:        i.ConnectionID,
		Credentials:         i.Credentials,
		RequestParameters:   present(i.RequestParameters),
		RequestTemplates:    present(i.RequestTemplates),
		PassthroughBehavior: i.PassthroughBehavior,
		ContentHandling:     i.ContentHandling,
		TimeoutInMillis:     i.TimeoutInMillis,
		CacheNamespace:      i.CacheNamespace,
		CacheKeyParameters:  i.CacheKeyParameters,
	}
	if i.Type == apigw.IntegrationMock {
		out.HTTPMethod, out.URI = "", ""
	}
	if out.CacheKeyParameters == nil {
		out.CacheKeyParameters = []string{}
	}
	if i.TLSConfig != nil {
		out.TLSConfig = &TLSConfig{InsecureSkipVerification: i.TLSConfig.InsecureSkipVerification}
	}
	if withResponses && len(i.IntegrationResponses) > 0 {
		out.IntegrationResponses = make(map[string]IntegrationResponse, len(i.IntegrationResponses))
		for code, r := range i.IntegrationResponses {
			out.IntegrationResponses[code] = IntegrationResponseOf(r)
		}
	}
	return out
}

// IntegrationResponseOf builds the wire IntegrationResponse.
func IntegrationResponseOf(r *apigw.IntegrationResponse) IntegrationResponse {
	return IntegrationResponse{
		StatusCode:         r.StatusCode,
		SelectionPattern:   r.SelectionPattern,
		ResponseParameters: present(r.ResponseParameters),
		ResponseTemplates:  present(r.ResponseTemplates),
		ContentHandling:    r.ContentHandling,
	}
}
