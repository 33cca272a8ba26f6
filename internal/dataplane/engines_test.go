package dataplane_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/dataplane"
	"github.com/tollgate/tollgate/internal/dataplane/fastengine"
	"github.com/tollgate/tollgate/internal/dataplane/loopengine"
	"github.com/tollgate/tollgate/internal/limit"
	"github.com/tollgate/tollgate/internal/meter"
	"github.com/tollgate/tollgate/internal/quota"
	"github.com/tollgate/tollgate/internal/quota/quotamem"
	"github.com/tollgate/tollgate/internal/quota/quotastore"
	"github.com/tollgate/tollgate/internal/reqstats"
	"github.com/tollgate/tollgate/internal/snapshot"
)

// The engines under comparison. Each starts on a loopback port over the same Core and returns
// its base URL and a count of the client connections it accepted.
var engines = []struct {
	name  string
	start func(t testing.TB, c *dataplane.Core) (string, *atomic.Int64)
}{
	{"nethttp", startNetHTTP},
	{"fasthttp", startFastHTTP},
	{"gnet", startLoop},
}

func startNetHTTP(t testing.TB, c *dataplane.Core) (string, *atomic.Int64) {
	srv := httptest.NewUnstartedServer(dataplane.NewNetHTTP(c, nil))
	n := &atomic.Int64{}
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, n
}

func startFastHTTP(t testing.TB, c *dataplane.Core) (string, *atomic.Int64) {
	e := fastengine.New(c, fastengine.Options{})
	srv := e.NewServer(nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	go func() { _ = srv.Serve(cl) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String(), &cl.n
}

func startLoop(t testing.TB, c *dataplane.Core) (string, *atomic.Int64) {
	addr, n, _ := startLoopWith(t, c, loopengine.Options{})
	return "http://" + addr, n
}

type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// world is the fixed configuration every engine serves: API "api1", stage "dev", a plan with
// one key, and these routes:
//
//	GET  /mock            MOCK (key), template {"mock":true}, header X-Mock
//	ANY  /open            MOCK (no key)
//	ANY  /items/{proxy+}  HTTP_PROXY → backend /backend/{proxy} (key)
//	ANY  /slow            HTTP_PROXY → a backend that never answers, timeout 300 ms
//	ANY  /down            HTTP_PROXY → a closed port
//	ANY  /bad/{id}        HTTP_PROXY whose uri names {other}, which nothing maps (500)
//	ANY  /hosted          HTTP_PROXY (POST) → backend, Host and X-Custom-In mapped, a query added
//	GET  /legacy/{code}   HTTP (non-proxy) → backend /status/{code}; 4xx → 400 with a template
type world struct {
	core    *dataplane.Core
	backend *httptest.Server
	// backendConns counts connections the backend accepted (keep-alive upstream).
	backendConns atomic.Int64
	hang         chan struct{}
	uploads      chan int64   // bytes each /backend/count request read
	streaming    atomic.Int64 // /backend/big handlers running
}

const testKey = "engine-test-key-0123456789"

func newWorld(t testing.TB) *world {
	w := &world{hang: make(chan struct{}), uploads: make(chan int64, 16)}
	w.backend = httptest.NewUnstartedServer(http.HandlerFunc(w.serveBackend))
	w.backend.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			w.backendConns.Add(1)
		}
	}
	w.backend.Start()
	t.Cleanup(func() { close(w.hang); w.backend.Close() })
	w.core = dataplane.NewCore(dataplane.Options{Enforcer: &dataplane.Enforcer{Limiter: limit.NewLocal()}})
	w.core.Swap(buildSnapshot(t, w.backend.URL, closedPort(t), []string{testKey}))
	return w
}

// buildSnapshot compiles the world's API with every check on: the keys in one plan with a
// throttle and a quota that never trips, metered.
func buildSnapshot(t testing.TB, backend, closed string, keys []string) *snapshot.Snapshot {
	return buildSnapshotPlan(t, backend, closed, keys, &apigw.UsagePlan{
		Throttle: &apigw.Throttle{RateLimit: 1e9, BurstLimit: 1e9},
		Quota:    &apigw.Quota{Limit: 1 << 40, Period: apigw.PeriodMonth}})
}

// buildSnapshotPlan is buildSnapshot with the plan's throttle and quota given.
func buildSnapshotPlan(t testing.TB, backend, closed string, keys []string, plan *apigw.UsagePlan) *snapshot.Snapshot {
	t.Helper()
	counter := quota.New(quotastore.Ledger(quotamem.New()), quota.Options{})
	t.Cleanup(func() { counter.Close(context.Background()) })
	return buildSnapshotCounter(t, backend, closed, keys, plan, counter)
}

// buildSnapshotCounter is buildSnapshotPlan with the quota counter given.
func buildSnapshotCounter(t testing.TB, backend, closed string, keys []string, plan *apigw.UsagePlan, counter *quota.Counter) *snapshot.Snapshot {
	t.Helper()
	mockIn := func() *apigw.Integration {
		return &apigw.Integration{Type: "MOCK", RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
			IntegrationResponses: map[string]*apigw.IntegrationResponse{"200": {StatusCode: "200",
				ResponseTemplates:  map[string]*string{"application/json": ptr(`{"mock":true}`)},
				ResponseParameters: map[string]string{"method.response.header.X-Mock": "'yes'"}}}}
	}
	proxyIn := func(uri string, timeout int64) *apigw.Integration {
		return &apigw.Integration{Type: "HTTP_PROXY", HTTPMethod: "ANY", URI: uri, TimeoutInMillis: timeout,
			RequestParameters: map[string]string{"integration.request.path.proxy": "method.request.path.proxy"}}
	}
	method := func(verb string, key bool, in *apigw.Integration) map[string]*apigw.Method {
		return map[string]*apigw.Method{verb: {HTTPMethod: verb, ApiKeyRequired: key, Integration: in}}
	}
	legacy := &apigw.Integration{Type: "HTTP", HTTPMethod: "GET", URI: backend + "/status/{code}",
		RequestParameters: map[string]string{"integration.request.path.code": "method.request.path.code"},
		IntegrationResponses: map[string]*apigw.IntegrationResponse{
			"200": {StatusCode: "200"},
			"400": {StatusCode: "400", SelectionPattern: ptr(`4\d{2}`),
				ResponseTemplates:  map[string]*string{"application/json": ptr(`{"error":"client"}`)},
				ResponseParameters: map[string]string{"method.response.header.X-Upstream": "integration.response.header.X-Backend-Path"}},
		}}
	res := []*apigw.Resource{
		{ID: "root"},
		{ID: "mock", ParentID: "root", PathPart: "mock", Methods: method("GET", true, mockIn())},
		{ID: "open", ParentID: "root", PathPart: "open", Methods: method("ANY", false, mockIn())},
		{ID: "items", ParentID: "root", PathPart: "items"},
		{ID: "proxy", ParentID: "items", PathPart: "{proxy+}", Methods: method("ANY", true, proxyIn(backend+"/backend/{proxy}", 0))},
		{ID: "slow", ParentID: "root", PathPart: "slow", Methods: method("ANY", false, proxyIn(backend+"/hang", 300))},
		{ID: "down", ParentID: "root", PathPart: "down", Methods: method("ANY", false, proxyIn(closed+"/x", 0))},
		{ID: "bad", ParentID: "root", PathPart: "bad"},
		{ID: "badid", ParentID: "bad", PathPart: "{id}", Methods: method("ANY", false, proxyIn(backend+"/{other}", 0))},
		{ID: "hosted", ParentID: "root", PathPart: "hosted", Methods: method("ANY", false, &apigw.Integration{Type: "HTTP_PROXY", HTTPMethod: "POST",
			URI: backend + "/backend/hosted", RequestParameters: map[string]string{"integration.request.header.Host": "'custom.example'",
				"integration.request.header.X-Custom-In": "method.request.querystring.c", "integration.request.querystring.added": "'yes'"}})},
		{ID: "legacy", ParentID: "root", PathPart: "legacy"},
		{ID: "code", ParentID: "legacy", PathPart: "{code}", Methods: method("GET", false, legacy)},
	}
	plan.ID, plan.ApiStages = "plan1", []apigw.ApiStage{{ApiID: "api1", Stage: "dev"}}
	in := snapshot.RegionInput{
		Region:      "us-east-1",
		Throttle:    apigw.Throttle{RateLimit: 1e9, BurstLimit: 1e9},
		Apis:        []*apigw.RestApi{{ID: "api1", ApiKeySource: "HEADER"}},
		Deployments: []*apigw.Deployment{{ID: "d1", ApiID: "api1", Resources: res}},
		Stages:      []*apigw.Stage{{ApiID: "api1", StageName: "dev", DeploymentID: "d1"}},
		Plans:       []*apigw.UsagePlan{plan},
		PlanKeys:    map[string][]string{},
	}
	for i, v := range keys {
		id := "key" + strconv.Itoa(i)
		in.Keys = append(in.Keys, snapshot.KeyInput{ID: id, Hash: snapshot.HashKey(v), Enabled: true})
		in.PlanKeys["plan1"] = append(in.PlanKeys["plan1"], id)
	}
	// Throttle buckets are bound from an in-process limiter, as a single node binds them.
	lim := limit.NewLocal()
	return snapshot.Build(snapshot.Input{Regions: []snapshot.RegionInput{in}}, snapshot.Binder{
		QuotaEntry: counter.Entry,
		Meter:      meter.New(nil, meter.Options{}),
		Bucket:     lim.Bucket,
		Stats:      reqstats.NewRegistry(), // statistics bound as serve binds them
	})
}

func ptr(s string) *string { return &s }

// closedPort returns the URL of a loopback port nothing listens on.
func closedPort(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func (w *world) serveBackend(rw http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/hang":
		select {
		case <-r.Context().Done():
		case <-w.hang:
		}
		return
	case strings.HasPrefix(r.URL.Path, "/status/"):
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/status/"))
		rw.Header().Set("X-Backend-Path", r.URL.Path)
		rw.Header().Set("X-Seen-UA", r.UserAgent())
		rw.WriteHeader(code)
		fmt.Fprintf(rw, `{"code":%d,"accept":%q,"ua":%q}`, code, r.Header.Get("Accept"), r.UserAgent())
		return
	case r.URL.Path == "/backend/count":
		n, _ := io.Copy(io.Discard, r.Body)
		w.uploads <- n
		fmt.Fprintf(rw, `{"read":%d}`, n)
		return
	case r.URL.Path == "/backend/reset" || r.URL.Path == "/backend/garbage":
		conn, _, err := rw.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		if r.URL.Path == "/backend/garbage" {
			io.WriteString(conn, "this is not HTTP\r\n\r\n")
		} else if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close with a reset
		}
		conn.Close()
		return
	case r.URL.Path == "/backend/truncated": // promises 100 bytes, sends 10, closes
		conn, _, err := rw.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
		conn.Close()
		return
	case r.URL.Path == "/backend/untyped":
		rw.Header()["Content-Type"] = nil
		io.WriteString(rw, "<html>no type</html>")
		return
	case r.URL.Path == "/backend/sized":
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		rw.Header().Set("Content-Length", strconv.Itoa(n))
		_, _ = io.Copy(rw, io.LimitReader(zeros{}, int64(n)))
		return
	case r.URL.Path == "/backend/big":
		w.streaming.Add(1)
		defer w.streaming.Add(-1)
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		chunk := strings.Repeat("0123456789abcdef", 4096) // 64 KB
		rw.Header().Set("Content-Type", "application/octet-stream")
		for sent := 0; sent < n; sent += len(chunk) {
			if _, err := io.WriteString(rw, chunk[:min(len(chunk), n-sent)]); err != nil {
				return
			}
		}
		return
	}
	body, _ := io.ReadAll(r.Body)
	h := rw.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Server", "backend/1.0")
	h.Set("X-Amzn-Requestid", "upstream-id")
	h.Set("Via", "1.1 somewhere")
	h.Set("Keep-Alive", "timeout=5")
	h.Set("X-Backend", "yes")
	h.Add("Set-Cookie", "a=1")
	h.Add("Set-Cookie", "b=2")
	status := http.StatusOK
	if s := r.URL.Query().Get("status"); s != "" {
		status, _ = strconv.Atoi(s)
	}
	rw.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	fmt.Fprintf(rw, `{"path":%q,"query":%q,"method":%q,"len":%d,"host":%q,"xff":%q,"proto":%q,"apiid":%q,"te":%q,"upgrade":%q,"custom":%q,"key":%q}`,
		r.URL.EscapedPath(), r.URL.RawQuery, r.Method, len(body), r.Host, r.Header.Get("X-Forwarded-For"),
		r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Amzn-Apigateway-Api-Id"), r.Header.Get("Te"),
		r.Header.Get("Upgrade"), r.Header.Get("X-Custom-In"), r.Header.Get("X-Api-Key"))
}
