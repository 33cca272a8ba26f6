package apigw

import "time"

// Account is the per-region account resource (spec §2.6). Throttle is read-only through the API:
// the operator sets it with --account-rate-limit / --account-burst-limit.
type Account struct {
	CloudwatchRoleArn string   `json:"cloudwatchRoleArn,omitempty"`
	Features          []string `json:"features,omitempty"`
	ApiKeyVersion     string   `json:"apiKeyVersion,omitempty"`
	Throttle          Throttle `json:"throttle"`
	Rev               int64    `json:"-"`
}

// ApiKey is an API key (spec §2.1). Value is the secret clients send in x-api-key.
type ApiKey struct {
	ID              string            `json:"id"`
	Value           string            `json:"value"`
	Name            string            `json:"name,omitempty"`
	CustomerID      string            `json:"customerId,omitempty"`
	Description     string            `json:"description,omitempty"`
	Enabled         bool              `json:"enabled"`
	CreatedDate     time.Time         `json:"createdDate"`
	LastUpdatedDate time.Time         `json:"lastUpdatedDate"`
	StageKeys       []string          `json:"stageKeys,omitempty"` // "<restApiId>/<stageName>", legacy
	Tags            map[string]string `json:"tags,omitempty"`
	// Rev is the optimistic-concurrency token the store maintains; 0 means "not stored yet".
	Rev int64 `json:"-"`
}

// Throttle is a token bucket: capacity BurstLimit, refill RateLimit tokens per second.
type Throttle struct {
	BurstLimit int64   `json:"burstLimit"`
	RateLimit  float64 `json:"rateLimit"`
}

// Quota periods.
const (
	PeriodDay   = "DAY"
	PeriodWeek  = "WEEK"
	PeriodMonth = "MONTH"
)

// Quota is a usage plan's per-key request allowance per calendar period (spec §5).
type Quota struct {
	Limit  int64  `json:"limit"`
	Offset int64  `json:"offset"`
	Period string `json:"period,omitempty"`
}

// ApiStage is one API stage a usage plan covers, with optional per-method throttles keyed
// "<resourcePath>/<METHOD>" (e.g. "/pets/GET", "//GET" for the root, "*/*").
type ApiStage struct {
	ApiID    string              `json:"apiId"`
	Stage    string              `json:"stage"`
	Throttle map[string]Throttle `json:"throttle,omitempty"`
}

// UsagePlan is a usage plan (spec §2.2).
type UsagePlan struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description,omitempty"`
	ProductCode string     `json:"productCode,omitempty"`
	ApiStages   []ApiStage `json:"apiStages"`
	Throttle    *Throttle  `json:"throttle,omitempty"`
	Quota       *Quota     `json:"quota,omitempty"`
	// QuotaSince is when the current quota took effect; the period containing it is the
	// "initial period" in which Offset is subtracted (spec §5.1, Tollgate decision).
	QuotaSince  time.Time         `json:"quotaSince,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	CreatedDate time.Time         `json:"createdDate"`
	Rev         int64             `json:"-"`
}

// UsagePlanKey associates an API key with a usage plan.
type UsagePlanKey struct {
	PlanID      string    `json:"planId"`
	KeyID       string    `json:"keyId"`
	CreatedDate time.Time `json:"createdDate"`
}

// EndpointConfiguration of a REST API.
type EndpointConfiguration struct {
	Types          []string `json:"types,omitempty"`
	IPAddressType  string   `json:"ipAddressType,omitempty"`
	VpcEndpointIDs []string `json:"vpcEndpointIds,omitempty"`
}

// RestApi is a REST API with its live resource tree (addendum §2.1). Stages serve frozen copies of
// the tree taken at CreateDeployment (Deployment.Resources), never this live one.
type RestApi struct {
	ID                        string                `json:"id"`
	Name                      string                `json:"name"`
	Description               string                `json:"description,omitempty"`
	Version                   string                `json:"version,omitempty"`
	CreatedDate               time.Time             `json:"createdDate"`
	BinaryMediaTypes          []string              `json:"binaryMediaTypes,omitempty"`
	MinimumCompressionSize    *int64                `json:"minimumCompressionSize,omitempty"`
	ApiKeySource              string                `json:"apiKeySource"`
	EndpointConfiguration     EndpointConfiguration `json:"endpointConfiguration"`
	Policy                    string                `json:"policy,omitempty"`
	DisableExecuteApiEndpoint bool                  `json:"disableExecuteApiEndpoint,omitempty"`
	RootResourceID            string                `json:"rootResourceId"`
	Tags                      map[string]string     `json:"tags,omitempty"`
	// Resources holds every resource of the API, the root included, in creation order
	// (GetResources lists them in pre-order; see ResourcesPreOrder).
	Resources []*Resource `json:"resources"`
	// Models names the API's models ("Empty" and "Error" always exist).
	Models []string `json:"models,omitempty"`
	// GatewayResponses are the API's customised gateway responses by type (PutGatewayResponse);
	// a deployment copies them.
	GatewayResponses map[string]*GatewayResponse `json:"gatewayResponses,omitempty"`
	// Authorizers are the API's authorizers in creation order; a deployment copies them.
	Authorizers []*Authorizer `json:"authorizers,omitempty"`
	Rev         int64         `json:"-"`
}

// API key sources.
const (
	ApiKeySourceHeader     = "HEADER"
	ApiKeySourceAuthorizer = "AUTHORIZER"
)

// Resource is one node of a REST API's resource tree. The root has no ParentID and no PathPart.
type Resource struct {
	ID       string             `json:"id"`
	ParentID string             `json:"parentId,omitempty"`
	PathPart string             `json:"pathPart,omitempty"`
	Methods  map[string]*Method `json:"methods,omitempty"` // by upper-case verb
}

// Method is a resource method (addendum §2.3).
type Method struct {
	HTTPMethod          string                     `json:"httpMethod"`
	AuthorizationType   string                     `json:"authorizationType"`
	AuthorizerID        string                     `json:"authorizerId,omitempty"`
	ApiKeyRequired      bool                       `json:"apiKeyRequired"`
	RequestValidatorID  string                     `json:"requestValidatorId,omitempty"`
	OperationName       string                     `json:"operationName,omitempty"`
	RequestParameters   map[string]bool            `json:"requestParameters"`
	RequestModels       map[string]string          `json:"requestModels"`
	AuthorizationScopes []string                   `json:"authorizationScopes,omitempty"`
	MethodResponses     map[string]*MethodResponse `json:"methodResponses,omitempty"`
	Integration         *Integration               `json:"integration,omitempty"`
}

// MethodResponse (addendum §2.4). A nil map was not supplied; an empty non-nil map was supplied
// empty and is echoed as {}.
type MethodResponse struct {
	StatusCode         string            `json:"statusCode"`
	ResponseParameters map[string]bool   `json:"responseParameters"`
	ResponseModels     map[string]string `json:"responseModels"`
}

// Integration types.
const (
	IntegrationMock      = "MOCK"
	IntegrationHTTP      = "HTTP"
	IntegrationHTTPProxy = "HTTP_PROXY"
	IntegrationAWS       = "AWS"
	IntegrationAWSProxy  = "AWS_PROXY"
)

// TLSConfig of an HTTP integration.
type TLSConfig struct {
	InsecureSkipVerification bool `json:"insecureSkipVerification"`
}

// Integration (addendum §2.5).
type Integration struct {
	Type                 string                          `json:"type"`
	HTTPMethod           string                          `json:"httpMethod,omitempty"`
	URI                  string                          `json:"uri,omitempty"`
	ConnectionType       string                          `json:"connectionType,omitempty"`
	ConnectionID         string                          `json:"connectionId,omitempty"`
	Credentials          string                          `json:"credentials,omitempty"`
	RequestParameters    map[string]string               `json:"requestParameters"`
	RequestTemplates     map[string]string               `json:"requestTemplates"`
	PassthroughBehavior  string                          `json:"passthroughBehavior,omitempty"`
	ContentHandling      string                          `json:"contentHandling,omitempty"`
	TimeoutInMillis      int64                           `json:"timeoutInMillis"`
	CacheNamespace       string                          `json:"cacheNamespace,omitempty"`
	CacheKeyParameters   []string                        `json:"cacheKeyParameters"`
	TLSConfig            *TLSConfig                      `json:"tlsConfig,omitempty"`
	IntegrationResponses map[string]*IntegrationResponse `json:"integrationResponses,omitempty"`
}

// Maps in Method, MethodResponse, Integration and IntegrationResponse keep nil (never supplied)
// apart from empty (supplied as {}): AWS echoes the latter.
//
// IntegrationResponse (addendum §2.6). SelectionPattern nil means "not supplied" (the default
// response); a nil template value is echoed as JSON null.
type IntegrationResponse struct {
	StatusCode         string             `json:"statusCode"`
	SelectionPattern   *string            `json:"selectionPattern,omitempty"`
	ResponseParameters map[string]string  `json:"responseParameters"`
	ResponseTemplates  map[string]*string `json:"responseTemplates"`
	ContentHandling    string             `json:"contentHandling,omitempty"`
}

// Deployment is a frozen copy of a REST API's definition (addendum §6.1, §8.1).
type Deployment struct {
	ID          string    `json:"id"`
	ApiID       string    `json:"apiId"`
	Description string    `json:"description,omitempty"`
	CreatedDate time.Time `json:"createdDate"`
	// Resources is the deep copy of the API's resource tree at CreateDeployment.
	Resources    []*Resource `json:"resources"`
	ApiKeySource string      `json:"apiKeySource"`
	// GatewayResponses are the API's customisations at CreateDeployment: a change takes effect
	// at the next deployment.
	GatewayResponses map[string]*GatewayResponse `json:"gatewayResponses,omitempty"`
	// BinaryMediaTypes are the API's at CreateDeployment, likewise.
	BinaryMediaTypes []string `json:"binaryMediaTypes,omitempty"`
	// Authorizers are the API's at CreateDeployment, likewise.
	Authorizers []*Authorizer `json:"authorizers,omitempty"`
}

// MethodSetting is one entry of a stage's methodSettings (addendum §2.8).
type MethodSetting struct {
	MetricsEnabled                         bool    `json:"metricsEnabled"`
	LoggingLevel                           string  `json:"loggingLevel,omitempty"`
	DataTraceEnabled                       bool    `json:"dataTraceEnabled"`
	ThrottlingBurstLimit                   int64   `json:"throttlingBurstLimit"`
	ThrottlingRateLimit                    float64 `json:"throttlingRateLimit"`
	CachingEnabled                         bool    `json:"cachingEnabled"`
	CacheTTLInSeconds                      int64   `json:"cacheTtlInSeconds"`
	CacheDataEncrypted                     bool    `json:"cacheDataEncrypted"`
	RequireAuthorizationForCacheControl    bool    `json:"requireAuthorizationForCacheControl"`
	UnauthorizedCacheControlHeaderStrategy string  `json:"unauthorizedCacheControlHeaderStrategy"`
}

// AccessLogSettings of a stage.
type AccessLogSettings struct {
	DestinationArn string `json:"destinationArn,omitempty"`
	Format         string `json:"format,omitempty"`
}

// Stage is a named, callable pointer to a deployment (addendum §2.8).
type Stage struct {
	ApiID                string                   `json:"apiId"`
	StageName            string                   `json:"stageName"`
	DeploymentID         string                   `json:"deploymentId"`
	Description          string                   `json:"description,omitempty"`
	ClientCertificateID  string                   `json:"clientCertificateId,omitempty"`
	CacheClusterEnabled  bool                     `json:"cacheClusterEnabled"`
	CacheClusterSize     string                   `json:"cacheClusterSize,omitempty"`
	MethodSettings       map[string]MethodSetting `json:"methodSettings"`
	Variables            map[string]string        `json:"variables,omitempty"`
	DocumentationVersion string                   `json:"documentationVersion,omitempty"`
	AccessLogSettings    *AccessLogSettings       `json:"accessLogSettings,omitempty"`
	TracingEnabled       bool                     `json:"tracingEnabled"`
	Tags                 map[string]string        `json:"tags,omitempty"`
	CreatedDate          time.Time                `json:"createdDate"`
	LastUpdatedDate      time.Time                `json:"lastUpdatedDate"`
	// AuthorizerCacheEpoch counts FlushStageAuthorizersCache calls: the data plane keys its
	// authorizer cache with it, so a flush reaches every node through the store.
	AuthorizerCacheEpoch int64 `json:"authorizerCacheEpoch,omitempty"`
	Rev                  int64 `json:"-"`
}
