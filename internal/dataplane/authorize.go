package dataplane

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"strings"
	"time"
	"unsafe"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/authorizer"
	"github.com/tollgate/tollgate/internal/snapshot"
)

// Authorizers runs methods' authorizers: Lambda TOKEN and REQUEST authorizers through the
// Invoke API, Cognito user-pool authorizers against the pool's keys. Results are cached per
// stage and authorizer for the authorizer's TTL, keyed by the identity source values; a cached
// policy is evaluated again for each method ARN, as API Gateway does.
type Authorizers struct {
	Lambda    *Lambda
	Cognito   *authorizer.Cognito
	AccountID string
	// Timeout bounds one authorizer invocation (API Gateway's is 30 s; 0: 30 s).
	Timeout time.Duration
	// Invoked, if set, hears of every function invocation (tests count them).
	Invoked func()
	// OnFailure, if set, hears of every authorization that failed on the authorizer's side
	// (the caller got AuthorizerConfigurationException): the operator's log needs them.
	OnFailure func(AuthorizerFailure)
}

// AuthorizerFailure is one authorization the authorizer failed; Class is one of the
// Authorizer* classes below, never the cause's text.
type AuthorizerFailure struct {
	Method    *snapshot.Method
	RequestID string
	Class     string
}

// The classes of authorizer failures.
const (
	AuthorizerNoEndpoint  = "no Lambda endpoint configured"
	AuthorizerUnreachable = "Lambda Invoke API unreachable or refused"
	AuthorizerTimeout     = "authorizer timed out"
	AuthorizerFunctionErr = "function error"
	AuthorizerMalformed   = "answer is not an authorizer answer"
	AuthorizerKeys        = "user pool keys unavailable"
	AuthorizerUnknown     = "authorizer not in the deployment"
)

// failed reports a failure and returns the gateway response for it.
func (a *Authorizers) failed(m *snapshot.Method, v *View, class string) *GatewayError {
	if a.OnFailure != nil {
		a.OnFailure(AuthorizerFailure{Method: m, RequestID: v.RequestID, Class: class})
	}
	return ErrAuthorizerConfig
}

// Run authorizes a request to method m. It returns what the authorizer established, or the
// gateway response to send.
func (a *Authorizers) Run(ctx context.Context, m *snapshot.Method, v *View, params *snapshot.Params, now time.Time) (*authorizer.Result, *GatewayError) {
	au := m.Authorizer
	if a == nil || v.In == nil {
		return nil, ErrAuthorizerConfig
	}
	var idBuf [4]string
	identity, gerr := identityOf(au, m, v, params, idBuf[:0])
	if gerr != nil {
		return nil, gerr
	}
	var arnBuf [256]byte
	arnBytes := methodArn(arnBuf[:0], m.Stage, a.AccountID, v.In.Method(), v.Path)
	// The ARN is only read while this call runs: a view of the stack buffer, not a copy.
	arn := unsafe.String(unsafe.SliceData(arnBytes), len(arnBytes))
	res := au.Cache.Get(identity, now)
	if res == nil {
		var err *GatewayError
		if res, err = a.invoke(ctx, au, m, v, params, identity, strings.Clone(arn), now); err != nil {
			return nil, err
		}
		au.Cache.Put(identity, res, now)
	}
	return res, decide(res, au, m, arn, now)
}

// identityOf reads the authorizer's identity sources. A missing one (or a token the validation
// expression refuses) is 401 without invoking anything.
func identityOf(au *snapshot.Authorizer, m *snapshot.Method, v *View, params *snapshot.Params, out []string) ([]string, *GatewayError) {
	switch au.Type {
	case apigw.AuthorizerToken, apigw.AuthorizerCognito:
		if len(au.Sources) != 1 {
			return nil, ErrAuthorizerConfig
		}
		tok := v.In.Header(au.Sources[0].Name)
		if tok == "" || au.Validation != nil && !au.Validation.MatchString(tok) {
			return nil, ErrUnauthorized
		}
		return append(out, tok), nil
	case apigw.AuthorizerRequest:
		var query url.Values
		for _, src := range au.Sources {
			var val string
			switch src.Kind {
			case snapshot.SourceHeader:
				val = v.In.Header(src.Name)
			case snapshot.SourceQuery:
				if query == nil {
					query, _ = url.ParseQuery(v.In.RawQuery())
				}
				val = query.Get(src.Name)
			case snapshot.SourceStageVar:
				val = m.Stage.Variables[src.Name]
			case snapshot.SourceContext:
				val = contextSource(src.Name, m, v)
			}
			if val == "" {
				return nil, ErrUnauthorized
			}
			out = append(out, val)
		}
		return out, nil
	}
	return nil, ErrAuthorizerConfig // an authorizer the deployment lacks
}

// contextSource is a $context identity source.
func contextSource(name string, m *snapshot.Method, v *View) string {
	switch name {
	case "httpMethod":
		return v.In.Method()
	case "resourcePath":
		return m.ResourcePath
	case "stage":
		return m.Stage.Name
	case "apiId":
		return m.Stage.API.ID
	case "identity.sourceIp":
		ip, _, _ := v.In.Peer()
		return ip
	case "identity.userAgent":
		return v.In.Header("User-Agent")
	case "requestId":
		return v.RequestID
	}
	return ""
}

// methodArn appends arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{path}.
func methodArn(b []byte, st *snapshot.Stage, account, verb, path string) []byte {
	b = append(b, "arn:aws:execute-api:"...)
	b = append(b, st.API.Region.Name...)
	b = append(b, ':')
	b = append(b, account...)
	b = append(b, ':')
	b = append(b, st.API.ID...)
	b = append(b, '/')
	b = append(b, st.Name...)
	b = append(b, '/')
	b = append(b, verb...)
	if path == "" {
		path = "/"
	}
	return append(b, path...)
}

// decide applies a result to this method: a Lambda result's policy against the method ARN, a
// Cognito result's expiry and the method's scopes.
func decide(res *authorizer.Result, au *snapshot.Authorizer, m *snapshot.Method, arn string, now time.Time) *GatewayError {
	if au.Type == apigw.AuthorizerCognito {
		switch {
		case !now.Before(res.Expires):
			return ErrTokenExpired
		case !res.AllowsScopes(m.Scopes):
			return ErrUnauthorized
		}
		return nil
	}
	switch res.Policy.Evaluate(arn) {
	case authorizer.Allowed:
		return nil
	case authorizer.Denied:
		return ErrExplicitDeny
	}
	return ErrNotAuthorized
}

// invoke runs the authorizer on a cache miss.
func (a *Authorizers) invoke(ctx context.Context, au *snapshot.Authorizer, m *snapshot.Method, v *View, params *snapshot.Params, identity []string, arn string, now time.Time) (*authorizer.Result, *GatewayError) {
	timeout := a.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if au.Type == apigw.AuthorizerCognito {
		if a.Cognito == nil {
			return nil, ErrAuthorizerConfig
		}
		res, err := a.Cognito.Verify(ctx, identity[0], au.Pools)
		switch {
		case errors.Is(err, authorizer.ErrExpired):
			return nil, ErrTokenExpired
		case errors.Is(err, authorizer.ErrKeys):
			return nil, a.failed(m, v, AuthorizerKeys)
		case err != nil:
			return nil, ErrUnauthorized
		}
		return res, nil
	}
	event, err := a.event(au, m, v, params, identity, arn, now)
	if err != nil {
		return nil, ErrAuthorizerConfig
	}
	region, path, ok := lambdaPath(au.URI)
	if !ok {
		return nil, a.failed(m, v, AuthorizerUnknown)
	}
	if a.Lambda == nil || a.Lambda.Endpoint == "" {
		return nil, a.failed(m, v, AuthorizerNoEndpoint)
	}
	if a.Invoked != nil {
		a.Invoked()
	}
	resp, err := a.Lambda.invoke(ctx, region, path, event)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, a.failed(m, v, AuthorizerTimeout)
		}
		return nil, a.failed(m, v, AuthorizerUnreachable)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode/100 != 2 {
		return nil, a.failed(m, v, AuthorizerUnreachable)
	}
	if resp.Header.Get("X-Amz-Function-Error") != "" {
		var fe struct {
			ErrorMessage string `json:"errorMessage"`
		}
		if json.Unmarshal(body, &fe) == nil && fe.ErrorMessage == "Unauthorized" {
			return nil, ErrUnauthorized
		}
		return nil, a.failed(m, v, AuthorizerFunctionErr)
	}
	res, err := authorizer.ParseAnswer(body)
	if err != nil {
		return nil, a.failed(m, v, AuthorizerMalformed)
	}
	return res, nil
}

// tokenEvent is the TOKEN authorizer's event.
type tokenEvent struct {
	Type               string `json:"type"`
	AuthorizationToken string `json:"authorizationToken"`
	MethodArn          string `json:"methodArn"`
}

// event builds the authorizer's input event.
func (a *Authorizers) event(au *snapshot.Authorizer, m *snapshot.Method, v *View, params *snapshot.Params, identity []string, arn string, now time.Time) ([]byte, error) {
	if au.Type == apigw.AuthorizerToken {
		return json.Marshal(tokenEvent{Type: "TOKEN", AuthorizationToken: identity[0], MethodArn: arn})
	}
	c := &Call{Stage: m.Stage, Rest: v.Path}
	c.Method, c.Params = m, *params
	ip, host, proto := v.In.Peer()
	ev := c.proxyEvent(v.In, &LambdaRequest{Headers: v.In.Headers(), SourceIP: ip, Host: host, Protocol: proto, RequestID: v.RequestID, Start: now}, a.AccountID)
	// The REQUEST event is the proxy event's request without the body, with type and methodArn:
	// the outer body members, empty and omitted, hide the embedded event's (encoding/json takes
	// the shallowest field of a name).
	return json.Marshal(struct {
		Type      string `json:"type"`
		MethodArn string `json:"methodArn"`
		*proxyEvent
		Body            *string `json:"body,omitempty"`
		IsBase64Encoded bool    `json:"isBase64Encoded,omitempty"`
	}{Type: "REQUEST", MethodArn: arn, proxyEvent: ev})
}
