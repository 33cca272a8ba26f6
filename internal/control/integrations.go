package control

import (
	"context"
	"fmt"
	"mime"
	"regexp"
	"slices"
	"strings"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/store"
)

// Integrations (addendum §2.5, §5.7–§5.10).

// Integration defaults and enums.
const (
	DefaultTimeoutMillis = 29000
	MinTimeoutMillis     = 50
	PassWhenNoMatch      = "WHEN_NO_MATCH"
	ConnectionInternet   = "INTERNET"
	ConnectionVpcLink    = "VPC_LINK"
)

var (
	integrationTypes     = []string{apigw.IntegrationHTTP, apigw.IntegrationMock, apigw.IntegrationAWSProxy, apigw.IntegrationHTTPProxy, apigw.IntegrationAWS}
	connectionTypes      = []string{ConnectionInternet, ConnectionVpcLink}
	contentHandlings     = []string{"CONVERT_TO_BINARY", "CONVERT_TO_TEXT"}
	passthroughBehaviors = []string{PassWhenNoMatch, "WHEN_NO_TEMPLATES", "NEVER"}
)

// PutIntegrationInput is the PutIntegration body. The model's integrationHttpMethod travels as
// "httpMethod".
type PutIntegrationInput struct {
	Type                *string           `json:"type"`
	HTTPMethod          string            `json:"httpMethod"`
	URI                 string            `json:"uri"`
	ConnectionType      string            `json:"connectionType"`
	ConnectionID        string            `json:"connectionId"`
	Credentials         string            `json:"credentials"`
	RequestParameters   map[string]string `json:"requestParameters"`
	RequestTemplates    map[string]string `json:"requestTemplates"`
	PassthroughBehavior string            `json:"passthroughBehavior"`
	CacheNamespace      string            `json:"cacheNamespace"`
	CacheKeyParameters  []string          `json:"cacheKeyParameters"`
	ContentHandling     string            `json:"contentHandling"`
	TimeoutInMillis     *int64            `json:"timeoutInMillis"`
	TLSConfig           *apigw.TLSConfig  `json:"tlsConfig"`
}

// findIntegration reads down to a method's integration: Resource, Method, then Integration 404.
func findIntegration(tx store.Tx, apiID, resourceID, verb string) (*apigw.RestApi, *apigw.Method, error) {
	a, _, m, err := findMethod(tx, apiID, resourceID, verb)
	if err != nil {
		return nil, nil, err
	}
	if m.Integration == nil {
		return nil, nil, apigw.NotFound(apigw.MsgInvalidIntegration)
	}
	return a, m, nil
}

// PutIntegration sets a method's integration, replacing any previous one (and with it its
// integration responses).
func (s *Service) PutIntegration(ctx context.Context, region, apiID, resourceID, verb string, in PutIntegrationInput) (*apigw.Integration, error) {
	var integ *apigw.Integration
	err := s.update(ctx, region, func(tx store.Tx) error {
		a, _, m, err := findMethod(tx, apiID, resourceID, verb)
		if err != nil {
			return err
		}
		if err := s.checkPassRole(in.Credentials); err != nil {
			return err
		}
		if integ, err = NewIntegration(resourceID, in); err != nil {
			return err
		}
		m.Integration = integ
		return tx.PutRestApi(a)
	})
	return integ, err
}

// NewIntegration validates a PutIntegration body and builds the integration with AWS's defaults
// (§2.5). resourceID is the default cache namespace. The importer uses it for every
// x-amazon-apigateway-integration.
func NewIntegration(resourceID string, in PutIntegrationInput) (*apigw.Integration, error) {
	var bad []string
	switch {
	case in.Type == nil:
		bad = append(bad, "Value null at 'putIntegrationInput.type' failed to satisfy constraint: Member must not be null")
	case !slices.Contains(integrationTypes, *in.Type):
		bad = append(bad, enumError(*in.Type, "putIntegrationInput.type", integrationTypes))
	}
	if in.ConnectionType != "" && !slices.Contains(connectionTypes, in.ConnectionType) {
		bad = append(bad, enumError(in.ConnectionType, "putIntegrationInput.connectionType", connectionTypes))
	}
	if in.ContentHandling != "" && !slices.Contains(contentHandlings, in.ContentHandling) {
		bad = append(bad, enumError(in.ContentHandling, "putIntegrationInput.contentHandling", contentHandlings))
	}
	if err := patch.ValidationErrors(bad); err != nil {
		return nil, err
	}
	i := &apigw.Integration{
		Type:                *in.Type,
		HTTPMethod:          in.HTTPMethod,
		URI:                 in.URI,
		ConnectionType:      in.ConnectionType,
		ConnectionID:        in.ConnectionID,
		Credentials:         in.Credentials,
		RequestParameters:   in.RequestParameters,
		RequestTemplates:    in.RequestTemplates,
		PassthroughBehavior: in.PassthroughBehavior,
		ContentHandling:     in.ContentHandling,
		TimeoutInMillis:     DefaultTimeoutMillis,
		CacheNamespace:      in.CacheNamespace,
		CacheKeyParameters:  in.CacheKeyParameters,
	}
	if in.TimeoutInMillis != nil {
		i.TimeoutInMillis = *in.TimeoutInMillis
	}
	if in.TLSConfig != nil {
		t := *in.TLSConfig
		i.TLSConfig = &t
	}
	if err := ValidateIntegration(i); err != nil {
		return nil, err
	}
	ApplyIntegrationDefaults(i, resourceID)
	return i, nil
}

func enumError(v, member string, set []string) string {
	return fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: Member must satisfy enum value set: [%s]", v, member, strings.Join(set, ", "))
}

// ValidateIntegration checks an integration in the order of §5.7: backend method, uri, mapping
// keys, templates, timeout, passthrough behaviour. It upper-cases the backend verb and the
// passthrough behaviour.
func ValidateIntegration(i *apigw.Integration) error {
	if i.Type != apigw.IntegrationMock {
		if i.HTTPMethod == "" {
			return apigw.BadRequest("Enumeration value for HttpMethod must be non-empty")
		}
		v, err := NormalizeHTTPMethod(i.HTTPMethod)
		if err != nil {
			return err
		}
		i.HTTPMethod = v
	}
	switch i.Type {
	case apigw.IntegrationHTTP, apigw.IntegrationHTTPProxy:
		if !validHTTPURI(i.URI) {
			return apigw.BadRequest("Invalid HTTP endpoint specified for URI")
		}
	case apigw.IntegrationAWS, apigw.IntegrationAWSProxy:
		if err := validateAWSTarget(i); err != nil {
			return err
		}
	}
	if err := ValidateIntegrationRequestParameters(i.RequestParameters); err != nil {
		return err
	}
	if err := validateContentTypes(sortedKeys(i.RequestTemplates)); err != nil {
		return err
	}
	if i.TimeoutInMillis < MinTimeoutMillis || i.TimeoutInMillis > DefaultTimeoutMillis {
		return errTimeout()
	}
	if i.PassthroughBehavior != "" {
		p := strings.ToUpper(i.PassthroughBehavior)
		if !slices.Contains(passthroughBehaviors, p) {
			return apigw.BadRequest("Invalid passthrough behavior specified")
		}
		i.PassthroughBehavior = p
	}
	return nil
}

func errTimeout() error {
	return apigw.BadRequest("Timeout should be between %d ms and %d ms", MinTimeoutMillis, DefaultTimeoutMillis)
}

// ApplyIntegrationDefaults fills what AWS fills (§2.5): WHEN_NO_MATCH, INTERNET for HTTP types,
// the resource id as cache namespace, [] cache keys; a MOCK keeps no backend verb, uri or
// connection type.
func ApplyIntegrationDefaults(i *apigw.Integration, resourceID string) {
	if i.PassthroughBehavior == "" {
		i.PassthroughBehavior = PassWhenNoMatch
	}
	if i.TimeoutInMillis == 0 {
		i.TimeoutInMillis = DefaultTimeoutMillis
	}
	if i.CacheNamespace == "" {
		i.CacheNamespace = resourceID
	}
	if i.CacheKeyParameters == nil {
		i.CacheKeyParameters = []string{}
	}
	switch i.Type {
	case apigw.IntegrationMock:
		i.HTTPMethod, i.URI, i.ConnectionType = "", "", ""
	case apigw.IntegrationHTTP, apigw.IntegrationHTTPProxy:
		if i.ConnectionType == "" {
			i.ConnectionType = ConnectionInternet
		}
	}
}

// validHTTPURI accepts absolute http(s) URLs with a non-empty host; stage variables such as
// http://${stageVariables.host}/x are allowed, so this is deliberately not url.Parse.
func validHTTPURI(uri string) bool {
	lower := strings.ToLower(uri)
	var rest string
	switch {
	case strings.HasPrefix(lower, "http://"):
		rest = uri[len("http://"):]
	case strings.HasPrefix(lower, "https://"):
		rest = uri[len("https://"):]
	default:
		return false
	}
	host, _, _ := strings.Cut(rest, "/")
	host, _, _ = strings.Cut(host, "?")
	return host != "" && !strings.ContainsAny(uri, " \t\r\n")
}

// validateAWSURI checks an AWS service integration ARN:
// arn:<partition>:apigateway:<region>:<service>:{path|action}/…
//
// Only a uri that does not read as an ARN at all is "Invalid ARN specified in the request". An
// ARN of anything else — a role (arn:aws:iam::1:role/r, the case LocalStack's AWS-validated
// suite sends), a bare Lambda function ARN (the classic mistake AWS answers this way), or an
// apigateway ARN that stops at the service — is "AWS ARN for integration must contain path or
// action".
func validateAWSURI(typ, uri string) error {
	const (
		invalidARN = "Invalid ARN specified in the request"
		noPath     = "AWS ARN for integration must contain path or action"
	)
	parts := strings.SplitN(uri, ":", 6)
	if len(parts) < 5 || parts[0] != "arn" || parts[1] == "" || parts[2] == "" {
		return apigw.BadRequest(invalidARN)
	}
	res := ""
	if len(parts) == 6 {
		res = parts[5]
	}
	if !strings.HasPrefix(res, "path/") && !strings.HasPrefix(res, "action/") {
		return apigw.BadRequest(noPath)
	}
	if parts[2] != "apigateway" || parts[4] == "" {
		// A path or action, but not one API Gateway can call: no service to call it on.
		return apigw.BadRequest(invalidARN)
	}
	if typ == apigw.IntegrationAWSProxy {
		lambda := parts[4] == "lambda" && strings.Contains(res, "/functions/")
		firehose := parts[4] == "firehose"
		if !lambda && !firehose {
			return apigw.BadRequest("Integrations of type 'AWS_PROXY' currently only supports Lambda function and Firehose stream invocations.")
		}
	}
	return nil
}

// validateAWSTarget checks what an AWS or AWS_PROXY integration calls: its ARN, and the role
// the service needs.
func validateAWSTarget(i *apigw.Integration) error {
	if err := validateAWSURI(i.Type, i.URI); err != nil {
		return err
	}
	if i.Type == apigw.IntegrationAWS && i.Credentials == "" && needsRole(i.URI) {
		return apigw.BadRequest("Role ARN must be specified for AWS integrations")
	}
	return nil
}

// needsRole reports whether an AWS integration's service can only be called with a role
// API Gateway assumes (the integration's credentials): S3, as AWS and moto answer. Lambda
// functions are invoked under their resource policy instead.
func needsRole(uri string) bool {
	parts := strings.SplitN(uri, ":", 6)
	return len(parts) >= 5 && (parts[4] == "s3" || strings.HasSuffix(parts[4], ".s3"))
}

// callerCredentials is the credentials value that passes the caller's own IAM identity through.
const callerCredentials = "arn:aws:iam::*:user/*"

// checkPassRole refuses integration credentials naming a role of another account: API Gateway
// may only assume roles of the API's own account (AccessDeniedException, as AWS).
func (s *Service) checkPassRole(credentials string) error {
	if credentials == "" || credentials == callerCredentials {
		return nil
	}
	parts := strings.SplitN(credentials, ":", 6)
	if len(parts) == 6 && parts[0] == "arn" && parts[2] == "iam" && parts[4] != s.cfg.AccountID {
		return apigw.Errorf(apigw.KindAccessDenied, "Cross-account pass role is not allowed.")
	}
	return nil
}

var integrationRequestParam = regexp.MustCompile(`^integration\.request\.(querystring|header|path|multivaluequerystring|multivalueheader)\.[^.].*$`)

// ValidateIntegrationRequestParameters checks that every key names a backend request parameter
// (integration.request.<location>.<name>).
func ValidateIntegrationRequestParameters(params map[string]string) error {
	var bad []string
	for _, k := range sortedKeys(params) {
		if !integrationRequestParam.MatchString(k) {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		return invalidMapping(bad)
	}
	return nil
}

// validateContentTypes checks template keys are media types ("123" is refused, §5.11).
func validateContentTypes(keys []string) error {
	for _, k := range keys {
		mt, _, err := mime.ParseMediaType(k)
		if err != nil || !strings.Contains(mt, "/") {
			return apigw.BadRequest("Validation Result: warnings : [], errors : [Invalid content type specified: %s]", k)
		}
	}
	return nil
}

// GetIntegration returns a method's integration with its responses.
func (s *Service) GetIntegration(ctx context.Context, region, apiID, resourceID, verb string) (*apigw.Integration, error) {
	var integ *apigw.Integration
	err := s.view(ctx, region, func(tx store.Tx) error {
		_, m, err := findIntegration(tx, apiID, resourceID, verb)
		if err == nil {
			integ = m.Integration
		}
		return err
	})
	return integ, err
}

// UpdateIntegration patches an integration (§5.9), all or nothing; the result is validated as a
// PutIntegration would be.
func (s *Service) UpdateIntegration(ctx context.Context, region, apiID, resourceID, verb string, ops []patch.Op) (*apigw.Integration, error) {
	if err := patch.Validate(ops, "updateIntegrationInput"); err != nil {
		return nil, err
	}
	var integ *apigw.Integration
	err := s.update(ctx, region, func(tx store.Tx) error {
		a, m, err := findIntegration(tx, apiID, resourceID, verb)
		if err != nil {
			return err
		}
		cur := m.Integration
		for _, op := range ops {
			if err := applyIntegrationOp(cur, op); err != nil {
				return err
			}
		}
		if err := s.checkPassRole(cur.Credentials); err != nil {
			return err
		}
		if err := ValidateIntegration(cur); err != nil {
			return err
		}
		ApplyIntegrationDefaults(cur, resourceID)
		integ = cur
		return tx.PutRestApi(a)
	})
	return integ, err
}

// DeleteIntegration deletes a method's integration with its integration responses.
func (s *Service) DeleteIntegration(ctx context.Context, region, apiID, resourceID, verb string) error {
	return s.update(ctx, region, func(tx store.Tx) error {
		a, m, err := findIntegration(tx, apiID, resourceID, verb)
		if err != nil {
			return err
		}
		m.Integration = nil
		return tx.PutRestApi(a)
	})
}
