package dataplane

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Lambda is how the data plane reaches the Lambda Invoke API (--lambda-endpoint): AWS itself,
// LocalStack or any server that speaks it. Requests are signed with SigV4 for service "lambda"
// when credentials are set, and unsigned otherwise.
type Lambda struct {
	Endpoint    string // base URL, e.g. https://lambda.us-east-1.amazonaws.com; "" = none configured
	Credentials aws.Credentials
	Client      *http.Client
	signer      *v4.Signer
}

// lambdaPath is the Invoke API path of an integration uri
// arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{functionArn}/invocations.
func lambdaPath(uri string) (region, path string, ok bool) {
	parts := strings.SplitN(uri, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "apigateway" || parts[4] != "lambda" {
		return "", "", false
	}
	rest, found := strings.CutPrefix(parts[5], "path/2015-03-31/functions/")
	if !found {
		return "", "", false
	}
	fn, found := strings.CutSuffix(rest, "/invocations")
	if !found || fn == "" {
		return "", "", false
	}
	return parts[3], "/2015-03-31/functions/" + url.PathEscape(fn) + "/invocations", true
}

// LambdaRequest is what an engine hands over of a request for an AWS_PROXY Lambda integration.
type LambdaRequest struct {
	Headers   [][2]string // as received, in order (canonical names)
	Body      []byte
	SourceIP  string
	Host      string
	Protocol  string
	RequestID string
	Start     time.Time
}

// LambdaReply is the function's proxy answer.
type LambdaReply struct {
	Status  int
	Headers [][2]string
	Body    []byte
}

// proxyEvent is the REST API proxy event (payload version 1.0).
type proxyEvent struct {
	Resource                        string              `json:"resource"`
	Path                            string              `json:"path"`
	HTTPMethod                      string              `json:"httpMethod"`
	Headers                         map[string]string   `json:"headers"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string   `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`
	PathParameters                  map[string]string   `json:"pathParameters"`
	StageVariables                  map[string]string   `json:"stageVariables"`
	RequestContext                  proxyContext        `json:"requestContext"`
	Body                            *string             `json:"body"`
	IsBase64Encoded                 bool                `json:"isBase64Encoded"`
}

type proxyContext struct {
	AccountID         string        `json:"accountId"`
	APIID             string        `json:"apiId"`
	ResourcePath      string        `json:"resourcePath"`
	HTTPMethod        string        `json:"httpMethod"`
	Path              string        `json:"path"`
	Stage             string        `json:"stage"`
	RequestID         string        `json:"requestId"`
	ExtendedRequestID string        `json:"extendedRequestId"`
	RequestTime       string        `json:"requestTime"`
	RequestTimeEpoch  int64         `json:"requestTimeEpoch"`
	Protocol          string        `json:"protocol"`
	DomainName        string        `json:"domainName"`
	Identity          proxyIdentity `json:"identity"`
	// Authorizer is what the method's authorizer established: principalId and its context
	// entries, or a Cognito token's claims.
	Authorizer map[string]any `json:"authorizer,omitempty"`
}

type proxyIdentity struct {
	SourceIP  string  `json:"sourceIp"`
	UserAgent *string `json:"userAgent"`
	APIKey    *string `json:"apiKey"`
	APIKeyID  *string `json:"apiKeyId"`
}

// InvokeLambdaProxy runs an AWS_PROXY Lambda integration: it builds the proxy event, invokes the
// function within the integration timeout and maps its answer. A function error, an answer that
// is not a proxy response, or an unreachable Invoke API is 502 (500 without an endpoint), the
// timeout 504, as API Gateway answers them.
func (c *Call) InvokeLambdaProxy(ctx context.Context, l *Lambda, in Inbound, r *LambdaRequest) (LambdaReply, *GatewayError) {
	region, path, ok := lambdaPath(c.plan.in.URI)
	// API Gateway invokes functions with POST only: another integration method is a
	// configuration error, 500 (LocalStack's AWS-validated test_lambda_aws_proxy_integration_non_post_method).
	if !ok || l == nil || l.Endpoint == "" || c.plan.in.HTTPMethod != http.MethodPost {
		return LambdaReply{}, ErrInternal
	}
	var account string
	if c.core != nil {
		account = c.core.accountID
	}
	event, err := json.Marshal(c.proxyEvent(in, r, account))
	if err != nil {
		return LambdaReply{}, ErrInternal
	}
	body, fnErr, gerr := c.invokeIntegration(ctx, l, region, path, event)
	if gerr != nil {
		return LambdaReply{}, gerr
	}
	if fnErr {
		return LambdaReply{}, ErrBadGateway
	}
	// A base64 body is decoded only for a client that accepts one of the deployment's binary
	// media types; otherwise it is passed on as the text it is (recorded on AWS).
	return parseProxyResponse(body, binaryAccepted(c.Stage.BinaryMediaTypes, in.Header("Accept")))
}

func (l *Lambda) invoke(ctx context.Context, region, path string, event []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(l.Endpoint, "/")+path, bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if l.Credentials.AccessKeyID != "" {
		if l.signer == nil {
			l.signer = v4.NewSigner()
		}
		sum := sha256.Sum256(event)
		if err := l.signer.SignHTTP(ctx, l.Credentials, req, hex.EncodeToString(sum[:]), "lambda", region, time.Now()); err != nil {
			return nil, err
		}
	}
	client := l.Client
	if client == nil {
		client = http.DefaultClient
	}
	return client.Do(req)
}

// parseProxyResponse maps a function's answer by the rules API Gateway applies, as LocalStack's
// AWS-validated test_aws_proxy_response_payload_format_validation records them: an object with
// only statusCode, headers, multiValueHeaders, body and isBase64Encoded; statusCode a number or
// a numeric string (default 200); header values scalars (true becomes "true"); multiValueHeaders
// lists, a name in both maps keeping the multi values first. Anything else is 502. decode: the
// client accepts a binary media type, so an isBase64Encoded body is decoded.
func parseProxyResponse(b []byte, decode bool) (LambdaReply, *GatewayError) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		return LambdaReply{}, ErrBadGateway
	}
	out := LambdaReply{Status: http.StatusOK}
	var body *string
	var b64 bool
	var single map[string]string
	var multi map[string][]string
	for k, v := range raw {
		var err error
		switch k {
		case "statusCode":
			out.Status, err = proxyStatus(v)
		case "headers":
			single, err = scalarMap(v)
		case "multiValueHeaders":
			multi, err = scalarListMap(v)
		case "body":
			err = json.Unmarshal(v, &body)
		case "isBase64Encoded":
			var p *bool
			if err = json.Unmarshal(v, &p); p != nil {
				b64 = *p
			}
		default:
			err = errors.New("unknown member " + k)
		}
		if err != nil {
			return LambdaReply{}, ErrBadGateway
		}
	}
	// A header a function cannot legally send (a bad name; CR, LF or another control byte in the
	// value) is dropped: it could split the response the client reads.
	for _, k := range sortedNames(multi) {
		for _, v := range multi[k] {
			if validHeader(k, v) {
				out.Headers = append(out.Headers, [2]string{http.CanonicalHeaderKey(k), v})
			}
		}
	}
	for _, k := range sortedNames(single) {
		if validHeader(k, single[k]) {
			out.Headers = append(out.Headers, [2]string{http.CanonicalHeaderKey(k), single[k]})
		}
	}
	if body != nil {
		out.Body = []byte(*body)
		if b64 && decode {
			raw, err := base64.StdEncoding.DecodeString(*body)
			if err != nil {
				return LambdaReply{}, ErrBadGateway
			}
			out.Body = raw
		}
	}
	return out, nil
}

// proxyStatus reads statusCode: an integer or a string of one, 100–599.
func proxyStatus(v json.RawMessage) (int, error) {
	var n json.Number
	if err := json.Unmarshal(v, &n); err != nil {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return 0, err
		}
		n = json.Number(s)
	}
	code, err := strconv.Atoi(n.String())
	if err != nil || code < 100 || code > 599 {
		return 0, errors.New("bad statusCode")
	}
	return code, nil
}

// scalarMap reads an object of scalars (null: none) as strings.
func scalarMap(v json.RawMessage) (map[string]string, error) {
	var m map[string]any
	if err := json.Unmarshal(v, &m); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		s, ok := scalar(x)
		if !ok {
			return nil, errors.New("header " + k + " is not a scalar")
		}
		out[k] = s
	}
	return out, nil
}

// scalarListMap reads an object of lists of scalars (null: none).
func scalarListMap(v json.RawMessage) (map[string][]string, error) {
	var m map[string]any
	if err := json.Unmarshal(v, &m); err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(m))
	for k, x := range m {
		list, ok := x.([]any)
		if !ok {
			return nil, errors.New("multiValueHeaders " + k + " is not a list")
		}
		for _, e := range list {
			s, ok := scalar(e)
			if !ok {
				return nil, errors.New("multiValueHeaders " + k + " holds a non-scalar")
			}
			out[k] = append(out[k], s)
		}
	}
	return out, nil
}

// scalar renders a JSON scalar as a header value.
func scalar(x any) (string, bool) {
	switch v := x.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	}
	return "", false
}

// sortedNames are a map's keys in order, so headers go out deterministically.
func sortedNames[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// binaryAccepted reports whether one of the Accept header's media types is a binary one.
func binaryAccepted(types []string, accept string) bool {
	for accept != "" {
		var part string
		part, accept, _ = strings.Cut(accept, ",")
		if binaryMedia(types, part) {
			return true
		}
	}
	return false
}

// proxyEvent builds the version 1.0 proxy event of the call.
func (c *Call) proxyEvent(in Inbound, r *LambdaRequest, account string) *proxyEvent {
	st, m := c.Stage, c.Method
	// path is the request path without the stage; requestContext.path has the stage.
	ev := &proxyEvent{Resource: m.ResourcePath, Path: c.Rest, HTTPMethod: in.Method()}
	if ev.Path == "" {
		ev.Path = "/"
	}
	for _, h := range r.Headers {
		if ev.Headers == nil {
			ev.Headers, ev.MultiValueHeaders = map[string]string{}, map[string][]string{}
		}
		ev.Headers[h[0]] = h[1]
		ev.MultiValueHeaders[h[0]] = append(ev.MultiValueHeaders[h[0]], h[1])
	}
	if q := in.RawQuery(); q != "" {
		if vals, err := url.ParseQuery(q); err == nil && len(vals) > 0 {
			ev.QueryStringParameters, ev.MultiValueQueryStringParameters = map[string]string{}, map[string][]string(vals)
			for k, vs := range vals {
				ev.QueryStringParameters[k] = vs[len(vs)-1]
			}
		}
	}
	if n := c.Params.Len(); n > 0 {
		ev.PathParameters = make(map[string]string, n)
		for i := 0; i < n; i++ {
			k, v := c.Params.At(i)
			if u, err := url.PathUnescape(v); err == nil {
				v = u
			}
			ev.PathParameters[k] = v
		}
	}
	if len(st.Variables) > 0 {
		ev.StageVariables = st.Variables
	}
	if len(r.Body) > 0 {
		s := string(r.Body)
		// A binary media type of the deployment is sent base64-encoded, as API Gateway does;
		// so is a body that is not UTF-8 text, which a JSON event could not carry intact.
		if binaryMedia(st.BinaryMediaTypes, in.Header("Content-Type")) || !utf8.Valid(r.Body) {
			s, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(r.Body), true
		}
		ev.Body = &s
	}
	rc := &ev.RequestContext
	rc.APIID, rc.ResourcePath, rc.HTTPMethod, rc.Stage = st.API.ID, m.ResourcePath, ev.HTTPMethod, st.Name
	rc.Path = "/" + st.Name + c.Rest
	rc.RequestID, rc.ExtendedRequestID, rc.Protocol, rc.DomainName = r.RequestID, r.RequestID, r.Protocol, r.Host
	rc.RequestTime = r.Start.UTC().Format("02/Jan/2006:15:04:05 -0700")
	rc.RequestTimeEpoch = r.Start.UnixMilli()
	rc.AccountID = account
	rc.Identity.SourceIP = r.SourceIP
	if ua := in.Header("User-Agent"); ua != "" {
		rc.Identity.UserAgent = &ua
	}
	if c.Key != nil {
		// The function receives the key that admitted the request, as API Gateway passes it
		// (the authorizer's usageIdentifierKey when the key source is AUTHORIZER).
		key, id := c.APIKey, c.Key.ID
		rc.Identity.APIKey, rc.Identity.APIKeyID = &key, &id
	}
	if a := c.Auth; a != nil {
		rc.Authorizer = map[string]any{"principalId": a.PrincipalID}
		if a.Claims != nil {
			rc.Authorizer["claims"] = a.Claims
		} else {
			for _, kv := range a.Context {
				rc.Authorizer[kv.Key] = kv.Value
			}
		}
	}
	return ev
}

// validHeader reports whether name is an HTTP token and value holds no control byte but tab.
func validHeader(name, value string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// binaryMedia reports whether a Content-Type matches one of the binary media types ("type/sub",
// "type/*" or "*/*"; parameters ignored, case-insensitive).
func binaryMedia(types []string, contentType string) bool {
	if len(types) == 0 || contentType == "" {
		return false
	}
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	major, _, _ := strings.Cut(mt, "/")
	for _, t := range types {
		t = strings.ToLower(t)
		if t == mt || t == "*/*" || strings.HasSuffix(t, "/*") && strings.TrimSuffix(t, "/*") == major {
			return true
		}
	}
	return false
}

// InvokeLambdaAWS runs a non-proxy AWS integration to a Lambda function: the request template
// for the content type (sent as written: mapping templates are not evaluated), else the client
// body ("{}" when empty), is the event; the function's result is the backend body for the
// integration response. A function error's errorMessage is matched against the selection
// patterns, as API Gateway matches Lambda errors (no match: the default response); a result
// uses the default response. An unreachable Invoke API is 502, the timeout 504.
func (c *Call) InvokeLambdaAWS(ctx context.Context, in Inbound, body []byte) (Reply, string, *GatewayError) {
	var l *Lambda
	if c.core != nil {
		l = c.core.lambda
	}
	region, path, ok := lambdaPath(c.plan.in.URI)
	if !ok || l == nil || l.Endpoint == "" || c.plan.in.HTTPMethod != http.MethodPost {
		return Reply{}, "", ErrInternal
	}
	tmpl, useTemplate, gerr := c.RequestBody(in)
	if gerr != nil {
		return Reply{}, "", gerr
	}
	event := body
	if useTemplate {
		event = []byte(tmpl)
	}
	if len(bytes.TrimSpace(event)) == 0 {
		event = []byte("{}")
	}
	out, fnErr, gerr := c.invokeIntegration(ctx, l, region, path, event)
	if gerr != nil {
		return Reply{}, "", gerr
	}
	ir := c.plan.in.Default
	if fnErr {
		var fe struct {
			ErrorMessage string `json:"errorMessage"`
		}
		_ = json.Unmarshal(out, &fe)
		ir = selectResponse(c.plan.in, fe.ErrorMessage)
	}
	reply, gerr := c.reply(ir)
	return reply, string(out), gerr
}

// invokeIntegration invokes the integration's function within its timeout and records the
// integration latency and status. It returns the answer's body and whether it is a function
// error (X-Amz-Function-Error); an Invoke API that fails or refuses is 502, the timeout 504.
func (c *Call) invokeIntegration(ctx context.Context, l *Lambda, region, path string, event []byte) ([]byte, bool, *GatewayError) {
	ctx, cancel := context.WithTimeout(ctx, c.plan.in.Timeout)
	defer cancel()
	start := time.Now()
	resp, err := l.invoke(ctx, region, path, event)
	c.Integrated, c.IntegrationLatency = true, time.Since(start)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, false, ErrTimeout
		}
		return nil, false, ErrBadGateway
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxPayload+1))
	c.IntegrationStatus = resp.StatusCode
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return nil, false, ErrTimeout
	case err != nil || len(body) > MaxPayload || resp.StatusCode/100 != 2:
		return nil, false, ErrBadGateway
	}
	return body, resp.Header.Get("X-Amz-Function-Error") != "", nil
}
