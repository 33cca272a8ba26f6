package dataplane

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/authorizer"
	"github.com/tollgate/tollgate/internal/snapshot"
)

// testStage is the stage name API Gateway's test invocations run under.
const testStage = "ESTestInvoke-stage"

// TestInvoke runs authorizer a as written (not as deployed, and never from the cache) against
// a test request for TestInvokeAuthorizer: GET {pathWithQueryString} on the test stage. The
// client status is what a caller would have got from the authorizer alone: 200 when it
// answered with a usable policy or claims, else the gateway response's status (401, 500).
func (x *Authorizers) TestInvoke(ctx context.Context, region, apiID string, a *apigw.Authorizer, in authorizer.TestInput) authorizer.TestOutput {
	start := time.Now()
	au := snapshot.CompileAuthorizer(a)
	path, query, _ := strings.Cut(in.PathWithQueryString, "?")
	if path == "" {
		path = "/"
	}
	st := &snapshot.Stage{API: &snapshot.API{ID: apiID, Region: &snapshot.Region{Name: region}}, Name: testStage, Variables: in.StageVariables}
	m := &snapshot.Method{Stage: st, Verb: http.MethodGet, ResourcePath: path, Authorizer: au}
	ti := &testInbound{h: http.Header{}, query: query}
	for k, vs := range in.MultiValueHeaders {
		ti.h[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	for k, v := range in.Headers {
		ti.h.Set(k, v)
	}
	v := &View{Method: http.MethodGet, Path: path, In: ti, RequestID: string(AppendRequestID(nil))}
	var params snapshot.Params
	out := authorizer.TestOutput{}
	var logb strings.Builder
	logb.WriteString("Execution log for request " + v.RequestID + "\n")
	logb.WriteString(start.UTC().Format(time.ANSIC) + " : Starting authorizer: " + a.ID + " for request: " + v.RequestID + "\n")
	identity, gerr := identityOf(au, m, v, &params, nil)
	if gerr == nil {
		var arnBuf [256]byte
		arn := string(methodArn(arnBuf[:0], st, x.AccountID, http.MethodGet, path))
		res, err := x.invoke(ctx, au, m, v, &params, identity, arn, start)
		if gerr = err; gerr == nil {
			out.ClientStatus, out.PrincipalID, out.Policy, out.Claims = http.StatusOK, res.PrincipalID, res.PolicyJSON, res.Claims
			logb.WriteString("Authorizer result: principal " + res.PrincipalID + "\n")
		}
	}
	if gerr != nil {
		out.ClientStatus = gerr.Status
		logb.WriteString(gerr.Type + ": " + string(gerr.Body) + "\n")
	}
	out.Latency = time.Since(start).Milliseconds()
	out.Log = logb.String()
	return out
}

// testInbound is a TestInvokeAuthorizer request as the data plane reads one.
type testInbound struct {
	h      http.Header
	query  string
	method string // "" is GET
}

func (t *testInbound) Method() string {
	if t.method == "" {
		return http.MethodGet
	}
	return t.method
}
func (t *testInbound) Header(name string) string { return t.h.Get(name) }
func (t *testInbound) RawQuery() string          { return t.query }
func (t *testInbound) Peer() (string, string, string) {
	return "127.0.0.1", t.h.Get("Host"), "HTTP/1.1"
}
func (t *testInbound) Signed() (*http.Request, []byte, *GatewayError) {
	return nil, nil, ErrBadRequest
}

func (t *testInbound) Headers() [][2]string {
	var out [][2]string
	for _, k := range sortedNames(t.h) {
		for _, v := range t.h[k] {
			out = append(out, [2]string{k, v})
		}
	}
	return out
}
