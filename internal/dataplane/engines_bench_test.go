package dataplane_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tollgate/tollgate/internal/accesslog"
	"github.com/tollgate/tollgate/internal/dataplane"
	"github.com/tollgate/tollgate/internal/limit"
)

// benchBody is the backend's answer: 100 bytes of JSON, as in the reference runs.
var benchBody = []byte(`{"id":"0123456789","name":"tollgate benchmark backend","items":[1,2,3,4,5,6,7,8,9],"ok":true,"n":42}`)

// startBenchBackend starts a fasthttp backend answering benchBody, the cheapest backend Go has,
// so that the figures are the engine's.
func startBenchBackend(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBody(benchBody)
	}}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkEngine is the whole path per engine: a keep-alive client (16 connections) → engine →
// backend on loopback, with an API key drawn at random from 10,000 per request and the plan
// throttle, quota and metering on. ns/op is wall time per request at that concurrency; cpu-ns/op
// is the CPU the process spent per request, client and backend included (both are fasthttp,
// which costs little); allocs/op likewise counts the whole process.
func BenchmarkEngine(b *testing.B) {
	backend := startBenchBackend(b)
	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = fmt.Sprintf("bench-key-%06d-0123456789", i)
	}
	snap := buildSnapshot(b, backend, closedPort(b), keys)
	for _, eng := range engines {
		for _, route := range []string{"proxy", "mock", "proxy+accesslog"} {
			b.Run(eng.name+"/"+route, func(b *testing.B) {
				o := dataplane.Options{Enforcer: &dataplane.Enforcer{Limiter: limit.NewLocal()}}
				if route == "proxy+accesslog" {
					o.AccessLog = accesslog.NewWriter(nopWriteCloser{io.Discard}, nil)
					b.Cleanup(func() { o.AccessLog.Close() })
				}
				core := dataplane.NewCore(o)
				core.Swap(snap)
				base, _ := eng.start(b, core)
				path := "/restapis/api1/dev/_user_request_/items/bench"
				if route == "mock" {
					path = "/restapis/api1/dev/_user_request_/mock"
				}
				drive(b, base+path, keys)
			})
		}
	}
	// The baseline, in the same run: issue 4's probe, a fasthttp proxy with only a key map and a
	// counter. What an engine costs above this row is what Tollgate adds to a bare Go proxy.
	b.Run("baseline-fastprobe/proxy", func(b *testing.B) {
		drive(b, startProbe(b, backend, keys)+"/items/bench", keys)
	})
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// drive runs the parallel keep-alive client of BenchmarkEngine against url (http://host:port/…).
func drive(b *testing.B, url string, keys []string) {
	hostPath := strings.TrimPrefix(url, "http://")
	client := &fasthttp.HostClient{Addr: hostPath[:strings.IndexByte(hostPath, '/')], MaxConns: 64}
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI(url)
		for pb.Next() {
			req.Header.Set("X-Api-Key", keys[rand.IntN(len(keys))])
			if err := client.Do(req, resp); err != nil {
				b.Error(err)
				return
			}
			if resp.StatusCode() != 200 {
				b.Errorf("status %d: %s", resp.StatusCode(), resp.Body())
				return
			}
		}
	})
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	b.StopTimer()
	client.CloseIdleConnections()
}

// startProbe starts the baseline proxy: a fasthttp server that checks x-api-key against a map,
// counts the request and hands the request itself to a HostClient for the backend.
func startProbe(b *testing.B, backend string, keys []string) string {
	counts := make(map[string]*atomic.Int64, len(keys))
	for _, k := range keys {
		counts[k] = new(atomic.Int64)
	}
	addr := strings.TrimPrefix(backend, "http://")
	hc := &fasthttp.HostClient{Addr: addr, MaxConns: 1024}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		n := counts[string(ctx.Request.Header.Peek("X-Api-Key"))]
		if n == nil {
			ctx.SetStatusCode(fasthttp.StatusForbidden)
			return
		}
		n.Add(1)
		ctx.Request.SetHost(addr)
		if err := hc.DoTimeout(&ctx.Request, &ctx.Response, 29*time.Second); err != nil {
			ctx.SetStatusCode(fasthttp.StatusBadGateway)
		}
	}}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

// BenchmarkUpstream is the engine-independent part of a proxied request after enforcement:
// building the upstream URL of an HTTP_PROXY {proxy+} integration.
func BenchmarkUpstream(b *testing.B) {
	snap := buildSnapshot(b, "http://127.0.0.1:9", "http://127.0.0.1:10", []string{testKey})
	core := dataplane.NewCore(dataplane.Options{Enforcer: &dataplane.Enforcer{Limiter: limit.NewLocal()}})
	core.Swap(snap)
	in := &benchIn{method: "GET", key: testKey, query: "a=1&b=2"}
	var call dataplane.Call
	if gerr := core.Admit(context.Background(), in, "gw", "/restapis/api1/dev/_user_request_/items/a/b/c", 0, &call); gerr != nil {
		b.Fatal(gerr)
	}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		up, err := call.Upstream(buf, in)
		if err != nil || string(up.RequestTarget()) != "/backend/a/b/c?a=1&b=2" {
			b.Fatal(err, string(up.RequestTarget()))
		}
	}
}

// BenchmarkAdmit is resolution plus the whole enforcement pipeline as the engines call it.
func BenchmarkAdmit(b *testing.B) {
	snap := buildSnapshot(b, "http://127.0.0.1:9", "http://127.0.0.1:10", []string{testKey})
	core := dataplane.NewCore(dataplane.Options{Enforcer: &dataplane.Enforcer{Limiter: limit.NewLocal()}})
	core.Swap(snap)
	in := &benchIn{method: "GET", key: testKey}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		var call dataplane.Call
		if gerr := core.Admit(ctx, in, "gw", "/restapis/api1/dev/_user_request_/items/a/b/c", 0, &call); gerr != nil {
			b.Fatal(gerr)
		}
	}
}

type benchIn struct{ method, key, query string }

func (r benchIn) Method() string { return r.method }
func (r benchIn) Signed() (*http.Request, []byte, *dataplane.GatewayError) {
	return nil, nil, dataplane.ErrBadRequest
}
func (r benchIn) Header(name string) string {
	if name == "X-Api-Key" {
		return r.key
	}
	return ""
}
func (r benchIn) RawQuery() string               { return r.query }
func (r benchIn) Headers() [][2]string           { return nil }
func (r benchIn) Peer() (string, string, string) { return "", "", "" }
