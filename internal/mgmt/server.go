// Package mgmt is the management API over HTTP: API Gateway's REST-JSON routes as a table, each
// decoded, authenticated (SigV4) and handed to a use case in package control; responses and errors
// are written through awswire only.
package mgmt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tollgate/tollgate/internal/authorizer"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/awswire"
	"github.com/tollgate/tollgate/internal/control"
	"github.com/tollgate/tollgate/internal/store"
)

// Authenticator verifies a management request (SigV4) and returns the region it is scoped to.
// body is the full request body (the signature covers its hash).
type Authenticator interface {
	Authenticate(r *http.Request, body []byte) (region string, err error)
}

// Body size caps. JSON bodies are small; imports (CSV keys, OpenAPI documents) may be large.
const (
	MaxJSONBody   = 10 << 20
	MaxImportBody = 64 << 20
)

// Request is what a handler sees: the HTTP request, its region, decoded path labels and body.
type Request struct {
	*http.Request
	Region string
	params map[string]string
	Body   []byte
}

// Param returns a decoded path label.
func (r *Request) Param(name string) string { return r.params[name] }

// Query returns the first value of a query parameter.
func (r *Request) Query(name string) string { return r.URL.Query().Get(name) }

// handlerFunc serves one operation; a returned error is written through awswire.WriteError.
type handlerFunc func(w http.ResponseWriter, r *Request) error

// route is one row of the route table. query, when set, is "name=value" and must be present
// (ImportApiKeys and ImportRestApi differ from their siblings only by ?mode=import).
type route struct {
	method  string
	pattern string
	query   string
	op      string
	big     bool  // accepts MaxImportBody
	limit   int64 // when set, the body cap instead (ImportRestApi, PutRestApi: AWS's 6 MB definition)
	tooBig  string
	h       handlerFunc
	segs    []string
}

// Server is the management API handler.
type Server struct {
	svc    *control.Service
	auth   Authenticator
	routes []route
	// AfterWrite, when set, runs after every successful write and before its response is sent:
	// the data plane uses it to install the new configuration, so a change holds for the very next
	// invocation.
	AfterWrite func(ctx context.Context) error
	// Reset, when set (--allow-reset), wipes all state for POST /_tollgate/reset; nil: the path
	// is unknown, as any other.
	Reset func(ctx context.Context) error
	// Authorizers runs TestInvokeAuthorizer (the data plane's runner, so a test answers as a
	// request would be answered); nil: the operation answers 500.
	Authorizers AuthorizerTester
}

// AuthorizerTester runs an authorizer as written for TestInvokeAuthorizer.
type AuthorizerTester interface {
	TestInvoke(ctx context.Context, region, apiID string, a *apigw.Authorizer, in authorizer.TestInput) authorizer.TestOutput
}

// New builds the management API over svc, authenticating with auth.
func New(svc *control.Service, auth Authenticator) *Server {
	s := &Server{svc: svc, auth: auth}
	for _, group := range [][]route{
		s.accountRoutes(), s.apiKeyRoutes(), s.usagePlanRoutes(), s.usageRoutes(),
		s.restApiRoutes(), s.resourceRoutes(), s.methodRoutes(), s.deploymentRoutes(), s.gatewayResponseRoutes(), s.authorizerRoutes(),
		s.stageRoutes(), s.tagRoutes(), s.importRoutes(), s.exportRoutes(),
	} {
		for _, rt := range group {
			rt.segs = splitPath(rt.pattern)
			s.routes = append(s.routes, rt)
		}
	}
	// Routes told apart by a query value (?mode=import) must be tried before their siblings.
	sort.SliceStable(s.routes, func(i, j int) bool { return s.routes[i].query != "" && s.routes[j].query == "" })
	return s
}

// Operations lists the operation names the table serves (for docs and tests).
func (s *Server) Operations() []string {
	ops := make([]string, 0, len(s.routes))
	for _, rt := range s.routes {
		ops = append(ops, rt.op)
	}
	return ops
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	if s.Reset != nil && hr.URL.Path == ResetPath {
		s.serveReset(w, hr)
		return
	}
	rt, params, err := s.match(hr)
	if err != nil {
		// Authenticate even unknown paths so unsigned probes learn nothing about the table.
		body, _ := io.ReadAll(io.LimitReader(hr.Body, MaxJSONBody))
		if _, aerr := s.auth.Authenticate(hr, body); aerr != nil {
			err = aerr
		}
		awswire.WriteError(w, hr, err)
		return
	}
	limit, tooBig := int64(MaxJSONBody), ""
	if rt.big {
		limit = MaxImportBody
	}
	if rt.limit > 0 {
		limit, tooBig = rt.limit, rt.tooBig
	}
	body, err := readBody(hr, limit, tooBig)
	if err != nil {
		awswire.WriteError(w, hr, err)
		return
	}
	region, err := s.auth.Authenticate(hr, body)
	if err != nil {
		awswire.WriteError(w, hr, err)
		return
	}
	req := &Request{Request: hr, Region: region, params: params, Body: body}
	if hr.Method != http.MethodGet && hr.Method != http.MethodHead {
		aw := &auditWriter{ResponseWriter: w}
		defer audit(hr, rt.op, region, params, aw)
		w = aw
	}
	if s.AfterWrite != nil && hr.Method != http.MethodGet {
		w = &syncWriter{ResponseWriter: w, ctx: hr.Context(), sync: s.AfterWrite}
	}
	if err := rt.h(w, req); err != nil {
		if errors.Is(err, store.ErrBadCursor) {
			err = apigw.BadRequest("Invalid position specified: %s", hr.URL.Query().Get("position"))
		}
		awswire.WriteError(w, hr, err)
	}
}

// syncWriter runs the AfterWrite hook when a successful status is about to be written.
type syncWriter struct {
	http.ResponseWriter
	ctx  context.Context
	sync func(context.Context) error
	done bool
}

func (w *syncWriter) WriteHeader(status int) {
	if !w.done && status < 300 {
		w.done = true
		if err := w.sync(w.ctx); err != nil {
			slog.Error("installing the new configuration in the data plane", "err", err)
		}
	}
	w.done = true
	w.ResponseWriter.WriteHeader(status)
}

func (w *syncWriter) Write(b []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// drainLimit bounds what readBody discards of a refused body.
const drainLimit = 64 << 20

// readBody reads at most limit bytes of the body (one more to tell a body over the limit); the
// refusal is tooBig, or a generic message. A body over the limit is refused before any of it
// is read when its Content-Length says so.
func readBody(r *http.Request, limit int64, tooBig string) ([]byte, error) {
	refuse := func() error {
		// Discard (never keep) what the client is still sending, up to a bound, so that it is
		// reading when the answer comes: closing on unread bytes resets the connection and
		// the client would see a broken pipe instead of the error.
		_, _ = io.CopyN(io.Discard, r.Body, drainLimit)
		if tooBig != "" {
			return apigw.BadRequest("%s", tooBig)
		}
		return apigw.BadRequest("Request body exceeds the maximum size of %d bytes", limit)
	}
	if r.ContentLength > limit {
		return nil, refuse()
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, apigw.BadRequest("Could not read the request body")
	}
	if int64(len(b)) > limit {
		return nil, refuse()
	}
	return b, nil
}

// match finds the route for the request, routing on the escaped path so that an encoded "/"
// inside a label (tag ARNs) stays inside it.
func (s *Server) match(r *http.Request) (*route, map[string]string, error) {
	segs := splitPath(r.URL.EscapedPath())
	q := r.URL.Query()
	pathKnown := false
	for i := range s.routes {
		rt := &s.routes[i]
		params, ok := matchSegs(rt.segs, segs)
		if !ok {
			continue
		}
		pathKnown = true
		if rt.method != r.Method {
			continue
		}
		if rt.query != "" {
			k, v, _ := strings.Cut(rt.query, "=")
			if q.Get(k) != v {
				continue
			}
		}
		return rt, params, nil
	}
	if pathKnown {
		return nil, nil, apigw.NotFound("Unsupported method %s for %s", r.Method, r.URL.Path)
	}
	return nil, nil, apigw.NotFound("Unknown path %s", r.URL.Path)
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func matchSegs(pattern, segs []string) (map[string]string, bool) {
	if len(pattern) != len(segs) {
		return nil, false
	}
	var params map[string]string
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") {
			v, err := url.PathUnescape(segs[i])
			if err != nil || v == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[p[1:len(p)-1]] = v
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	return params, true
}

// decode reads a JSON request body into v. An empty body is {} (spec §1.1). Syntax and type errors
// are SerializationException, as AWS's JSON front end reports them.
func decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &apigw.Error{Kind: apigw.KindSerialization, Message: fmt.Sprintf("class %s can not be converted to %s", javaClass(te.Value), javaTarget(te.Type.String())), Cause: err}
		}
		return &apigw.Error{Kind: apigw.KindSerialization, Message: "Unexpected content in the request body: not valid JSON", Cause: err}
	}
	if dec.More() {
		return &apigw.Error{Kind: apigw.KindSerialization, Message: "Unexpected content in the request body: not valid JSON"}
	}
	return nil
}

// javaClass names a JSON value kind the way AWS's (Java) deserialiser does in its messages
// (addendum §1.3: "class java.lang.Boolean can not be converted to an String").
func javaClass(jsonKind string) string {
	switch jsonKind {
	case "bool":
		return "java.lang.Boolean"
	case "number":
		return "com.amazon.coral.value.json.numbers.TruncatingBigNumber"
	case "string":
		return "java.lang.String"
	case "array":
		return "java.util.ArrayList"
	case "object":
		return "java.util.LinkedHashMap"
	}
	return "java.lang.Object"
}

func javaTarget(goType string) string {
	switch {
	case goType == "string":
		return "an String"
	case goType == "bool":
		return "an Boolean"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "float"), goType == "json.Number":
		return "an Number"
	case strings.HasPrefix(goType, "map"), strings.HasPrefix(goType, "struct"):
		return "an Map"
	case strings.HasPrefix(goType, "[]"):
		return "an List"
	}
	return "an Object"
}

// boolQuery reads a query boolean ("true" case-insensitively is true).
func boolQuery(r *Request, name string) bool { return strings.EqualFold(r.Query(name), "true") }

// page reads position/limit into the store's cursor and limit.
func page(r *Request) (cursor string, limit int, err error) {
	if limit, err = awswire.ParseLimit(r.Query("limit")); err != nil {
		return "", 0, err
	}
	cursor, err = awswire.DecodePosition(r.Query("position"))
	return cursor, limit, err
}
