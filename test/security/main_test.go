// Package security holds Tollgate's gate-integrity regression tests: each finding of the
// gate-integrity review (path traversal, AWS_IAM enforcement, secrets in logs and at rest, the
// data-directory lock, import bounds, hop-by-hop headers, signing and parsing edge cases) has a
// test here that failed before its fix. They run the real binary, on every data-plane engine
// where the finding is on the data plane, and attack it as a client would: raw sockets where an
// HTTP client would tidy the request up.
package security

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/tollgate/tollgate/test/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

// engines are the data-plane engines every data-plane finding is tested on.
var engines = []string{"fasthttp", "nethttp", "gnet"}

// eachEngine runs f against a fresh server per engine.
func eachEngine(t *testing.T, o harness.Options, f func(t *testing.T, s *harness.Server)) {
	for _, e := range engines {
		t.Run(e, func(t *testing.T) {
			o := o
			o.Args = append(append([]string(nil), o.Args...), "--engine", e)
			f(t, harness.Start(t, o))
		})
	}
}

// backend is an HTTP server that records every request it receives.
type backend struct {
	*httptest.Server
	mu   sync.Mutex
	seen []*http.Request
}

func newBackend(t *testing.T, h http.HandlerFunc) *backend {
	b := &backend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.seen = append(b.seen, r.Clone(r.Context()))
		b.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		fmt.Fprintf(w, "backend:%s", r.URL.EscapedPath())
	}))
	t.Cleanup(b.Close)
	return b
}

// Paths returns the escaped paths the backend has been asked for.
func (b *backend) Paths() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ps []string
	for _, r := range b.seen {
		ps = append(ps, r.URL.EscapedPath())
	}
	return ps
}

// Requests returns the requests the backend has received.
func (b *backend) Requests() []*http.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*http.Request(nil), b.seen...)
}

// method is one method of a test API: a resource path (parents created as needed), a verb and
// its settings.
type method struct {
	Path        string // "/admin", "/pub/{proxy+}"
	Verb        string // default GET
	KeyRequired bool
	Auth        string // authorizationType, default NONE
	Integration apigateway.PutIntegrationInput
}

// testAPI is a deployed REST API.
type testAPI struct {
	ID, Stage string
}

// deploy creates a REST API with the methods, deploys it to stage "prod" and returns it.
func deploy(t *testing.T, c *apigateway.Client, ms ...method) testAPI {
	t.Helper()
	ctx := harness.Ctx(t)
	api, err := c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("sec")})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]*string{"": api.RootResourceId, "/": api.RootResourceId}
	var resource func(path string) *string
	resource = func(path string) *string {
		if id, ok := ids[path]; ok {
			return id
		}
		i := strings.LastIndexByte(path, '/')
		parent := resource(path[:i])
		r, err := c.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: parent, PathPart: aws.String(path[i+1:])})
		if err != nil {
			t.Fatalf("CreateResource %s: %v", path, err)
		}
		ids[path] = r.Id
		return r.Id
	}
	for _, m := range ms {
		res := resource(m.Path)
		verb, auth := m.Verb, m.Auth
		if verb == "" {
			verb = "GET"
		}
		if auth == "" {
			auth = "NONE"
		}
		params := map[string]bool{}
		for _, seg := range strings.Split(m.Path, "/") {
			if strings.HasPrefix(seg, "{") {
				params["method.request.path."+strings.Trim(seg, "{}+")] = true
			}
		}
		if _, err := c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: res, HttpMethod: aws.String(verb),
			AuthorizationType: aws.String(auth), ApiKeyRequired: m.KeyRequired, RequestParameters: params}); err != nil {
			t.Fatalf("PutMethod %s %s: %v", verb, m.Path, err)
		}
		in := m.Integration
		in.RestApiId, in.ResourceId, in.HttpMethod = api.Id, res, aws.String(verb)
		if in.Type == "" {
			in.Type = types.IntegrationTypeMock
			in.RequestTemplates = map[string]string{"application/json": `{"statusCode": 200}`}
		}
		if _, err := c.PutIntegration(ctx, &in); err != nil {
			t.Fatalf("PutIntegration %s %s: %v", verb, m.Path, err)
		}
		if in.Type == types.IntegrationTypeMock {
			if _, err := c.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{RestApiId: api.Id, ResourceId: res,
				HttpMethod: aws.String(verb), StatusCode: aws.String("200"),
				ResponseTemplates: map[string]string{"application/json": `{"mock":"` + m.Path + `"}`}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	return testAPI{ID: *api.Id, Stage: "prod"}
}

// httpProxy is an HTTP_PROXY integration to uri, mapping the path variables named in vars.
func httpProxy(uri string, vars ...string) apigateway.PutIntegrationInput {
	in := apigateway.PutIntegrationInput{Type: types.IntegrationTypeHttpProxy, IntegrationHttpMethod: aws.String("ANY"), Uri: aws.String(uri),
		RequestParameters: map[string]string{}}
	for _, v := range vars {
		in.RequestParameters["integration.request.path."+v] = "method.request.path." + v
	}
	return in
}

// rawResponse is what came back on a raw connection.
type rawResponse struct {
	Status int
	Header http.Header
	Body   string
}

// rawRequest writes req to addr (host:port) exactly as given, byte for byte, and reads one
// response. A client library would clean the request line up; an attacker does not.
func rawRequest(t *testing.T, addr, req string) (rawResponse, error) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		return rawResponse{}, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return rawResponse{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawResponse{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}, nil
}

// hostPort is the host:port of an http:// endpoint.
func hostPort(endpoint string) string { return strings.TrimPrefix(endpoint, "http://") }
