package e2e

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tollgate/tollgate/test/harness"
)

// scrape reads /metrics with Prometheus' own text parser: a family the parser refuses (bad
// metadata, a histogram without its _bucket/_sum/_count) fails the test.
func scrape(t *testing.T, statusAddr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + statusAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("/metrics Content-Type = %q, want the text format 0.0.4", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not valid Prometheus text: %v", err)
	}
	return fams
}

// value returns the value of the series of family name whose labels include want (a counter,
// a gauge, or a histogram's count), and whether there is one.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// TestMetricsMoveWithTraffic: on either engine, /metrics on the status listener is Prometheus
// text with metadata on every family; the API Gateway families (Count, 4XXError, 5XXError,
// Latency, IntegrationLatency) count per method, throttles by scope, quota rejections by plan,
// and the runtime, process, snapshot and lease families exist. No series carries a key value.
func TestMetricsMoveWithTraffic(t *testing.T) {
	for _, engine := range []string{"fasthttp", "nethttp", "gnet"} {
		t.Run(engine, func(t *testing.T) {
			status := freePort(t)
			s := &server{harness.Start(t, harness.Options{Args: []string{"--engine", engine, "--status-addr", status}})}
			c := s.client("us-east-1")
			g := buildGatewayAPI(t, c, "prod")
			_, _, key := planWithKey(t, c, g, apigateway.CreateUsagePlanInput{
				Quota: &types.QuotaSettings{Limit: 3, Period: types.QuotaPeriodTypeDay}})
			plan2, _, key2 := planWithKey(t, c, g, apigateway.CreateUsagePlanInput{Name: aws.String("tight"),
				Throttle: &types.ThrottleSettings{RateLimit: 0.001, BurstLimit: 1}})
			base := scrape(t, status)
			for _, f := range base {
				if f.GetHelp() == "" {
					t.Errorf("family %s has no HELP", f.GetName())
				}
			}
			for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "tollgate_snapshot_swaps_total",
				"tollgate_snapshot_build_seconds", "tollgate_quota_leases_granted_total", "tollgate_usage_flush_lag_seconds", "tollgate_store_errors_total"} {
				if base[name] == nil {
					t.Errorf("no family %s", name)
				}
			}
			for i := 0; i < 4; i++ { // 3 admitted, then the quota refuses
				call(t, s, g, "GET", "/items/a", key)
			}
			call(t, s, g, "GET", "/items/a", key2) // the burst of 1
			call(t, s, g, "GET", "/items/a", key2) // throttled by the plan
			call(t, s, g, "GET", "/mock", "")      // 403: no key
			call(t, s, g, "GET", "/nowhere", "")   // 403: no method
			m := scrape(t, status)
			items := map[string]string{"api": g.ID, "stage": "prod", "method": "ANY", "resource": "/items/{proxy+}"}
			for _, c := range []struct {
				fam    string
				labels map[string]string
				want   float64
			}{
				{"tollgate_count_total", items, 6},
				{"tollgate_4xxerror_total", items, 2},
				{"tollgate_5xxerror_total", items, 0},
				{"tollgate_latency_seconds", items, 6},
				{"tollgate_integration_latency_seconds", items, 4},
				{"tollgate_4xxerror_total", map[string]string{"api": g.ID, "resource": "/mock", "method": "GET"}, 1},
				{"tollgate_count_total", map[string]string{"api": g.ID, "stage": "prod", "resource": "", "method": ""}, 1},
				{"tollgate_throttled_total", map[string]string{"api": g.ID, "stage": "prod", "scope": "plan"}, 1},
				{"tollgate_throttled_total", map[string]string{"api": g.ID, "stage": "prod", "scope": "account"}, 0},
				{"tollgate_quota_exceeded_total", map[string]string{"usage_plan": plan2}, 0},
			} {
				if got, ok := value(m, c.fam, c.labels); !ok || got != c.want {
					t.Errorf("%s%v = %v (found %v), want %v", c.fam, c.labels, got, ok, c.want)
				}
			}
			var quotaTotal float64
			for _, s := range m["tollgate_quota_exceeded_total"].GetMetric() {
				quotaTotal += s.GetCounter().GetValue()
			}
			if quotaTotal != 1 {
				t.Errorf("quota rejections = %v, want 1", quotaTotal)
			}
			if v, _ := value(m, "tollgate_quota_leases_granted_total", nil); v < 1 {
				t.Errorf("no quota lease granted: %v", v)
			}
			if v, _ := value(m, "tollgate_snapshot_swaps_total", nil); v < 1 {
				t.Errorf("snapshot swaps = %v", v)
			}
			// The event-loop engine says how much traffic left its loops, and why: here the
			// management calls (on the same listener), and none of the invocations (MOCK and
			// HTTP_PROXY run on the loops). The other engines have no such families.
			handoffs := func(reason string) float64 {
				v, _ := value(m, "tollgate_loop_handoffs_total", map[string]string{"reason": reason})
				return v
			}
			if engine == "gnet" {
				if handoffs("management") < 1 || handoffs("method") != 0 || handoffs("body") != 0 {
					t.Errorf("loop handoffs: management %v, method %v, body %v; want ≥ 1, 0, 0",
						handoffs("management"), handoffs("method"), handoffs("body"))
				}
				if _, ok := value(m, "tollgate_loop_offloop_relays_total", nil); !ok {
					t.Error("no family tollgate_loop_offloop_relays_total")
				}
			} else if m["tollgate_loop_handoffs_total"] != nil {
				t.Errorf("engine %s reports loop handoffs", engine)
			}
			if h := m["tollgate_latency_seconds"].GetMetric()[0].GetHistogram(); len(h.GetBucket()) < 10 {
				t.Errorf("latency histogram has %d buckets", len(h.GetBucket()))
			}
			// Bounded cardinality: no label holds a key value.
			for _, f := range m {
				for _, s := range f.Metric {
					for _, l := range s.Label {
						if v := l.GetValue(); v == key || v == key2 {
							t.Errorf("%s carries an API key value in label %s", f.GetName(), l.GetName())
						}
					}
				}
			}
		})
	}
}

// TestAccessLog: --access-log writes one line per data-plane request; a stage with
// accessLogSettings.format gets its $context variables substituted (values escaped), a stage
// without one the default JSON line with the key's id and never its value.
func TestAccessLog(t *testing.T) {
	for _, engine := range []string{"fasthttp", "nethttp", "gnet"} {
		t.Run(engine, func(t *testing.T) {
			logPath := filepath.Join(t.TempDir(), "access.log")
			s := &server{harness.Start(t, harness.Options{Args: []string{"--engine", engine, "--access-log", logPath}})}
			c := s.client("us-east-1")
			g := buildGatewayAPI(t, c, "prod")
			_, keyID, key := planWithKey(t, c, g, apigateway.CreateUsagePlanInput{})
			// The default line first.
			if code, _, _ := call(t, s, g, "GET", "/items/x?q=1", key); code != 200 {
				t.Fatalf("proxy call = %d", code)
			}
			lines := waitLines(t, logPath, 1)
			var def map[string]string
			if err := json.Unmarshal([]byte(lines[0]), &def); err != nil {
				t.Fatalf("default line is not JSON: %q", lines[0])
			}
			for k, want := range map[string]string{"apiId": g.ID, "stage": "prod", "httpMethod": "GET", "resourcePath": "/items/{proxy+}",
				"path": "/prod/items/x", "status": "200", "apiKeyId": keyID, "protocol": "HTTP/1.1", "ip": "127.0.0.1", "errorType": "-"} {
				if def[k] != want {
					t.Errorf("default line %s = %q, want %q (%s)", k, def[k], want, lines[0])
				}
			}
			if def["requestId"] == "" || def["requestId"] == "-" || def["integrationLatency"] == "-" {
				t.Errorf("default line lacks request id or integration latency: %s", lines[0])
			}
			// A custom format on the stage.
			format := `$context.requestId [$context.requestTime] "$context.httpMethod $context.resourcePath $context.protocol" $context.status $context.responseLength key=$context.identity.apiKeyId value=$context.identity.apiKey err=$context.error.responseType msg=$context.error.message ua="$context.identity.userAgent" api=$context.apiId stage=$context.stage`
			if _, err := c.UpdateStage(ctx(t), &apigateway.UpdateStageInput{RestApiId: aws.String(g.ID), StageName: aws.String("prod"),
				PatchOperations: []types.PatchOperation{
					{Op: types.OpReplace, Path: aws.String("/accessLogSettings/destinationArn"), Value: aws.String("arn:aws:logs:us-east-1:000000000000:log-group:access")},
					{Op: types.OpReplace, Path: aws.String("/accessLogSettings/format"), Value: aws.String(format)},
				}}); err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest("GET", s.Endpoint+"/restapis/"+g.ID+"/prod/_user_request_/mock", nil)
			req.Header.Set("User-Agent", "evil\"agent")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			lines = waitLines(t, logPath, 2)
			l := lines[1]
			rid := resp.Header.Get("X-Amzn-Requestid")
			for _, want := range []string{rid + " [", `] "GET /mock HTTP/1.1" 403 23 key=- value=- err=INVALID_API_KEY msg=Forbidden ua="evil\"agent" api=` + g.ID + " stage=prod"} {
				if !strings.Contains(l, want) {
					t.Errorf("custom line %q lacks %q", l, want)
				}
			}
			if _, err := time.Parse("02/Jan/2006:15:04:05 -0700", l[strings.Index(l, "[")+1:strings.Index(l, "]")]); err != nil {
				t.Errorf("requestTime not in API Gateway's format: %q", l)
			}
			data, _ := os.ReadFile(logPath)
			if strings.Contains(string(data), key) {
				t.Error("the access log holds an API key value")
			}
		})
	}
}

// waitLines waits until the file has at least n lines (the writer flushes within 200 ms).
func waitLines(t *testing.T, path string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(b) > 0 && len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("access log has %d lines, want %d: %q", len(lines), n, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cuttableProxy forwards TCP connections to target until cut, which closes the listener and
// every open connection; restore listens on the same address again.
type cuttableProxy struct {
	target, addr string
	mu           sync.Mutex
	ln           net.Listener
	conns        []net.Conn
}

func newCuttableProxy(t *testing.T, target string) *cuttableProxy {
	p := &cuttableProxy{target: target, addr: freePort(t)}
	p.restore(t)
	t.Cleanup(p.cut)
	return p
}

func (p *cuttableProxy) restore(t *testing.T) {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); u.Close() }()
			go func() { _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
}

func (p *cuttableProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestReadyzFollowsPostgres: /readyz answers 200 while PostgreSQL is reachable, 503 while it is
// not (the connection to it cut), and 200 again once it is back; /healthz stays 200 throughout,
// and the store-error counter moves.
func TestReadyzFollowsPostgres(t *testing.T) {
	dsn := postgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCuttableProxy(t, u.Host)
	u.Host = proxy.addr
	status := freePort(t)
	harness.Start(t, harness.Options{Args: []string{"--status-addr", status, "--store", u.String()}, Env: []string{masterKeyEnv(t)}})
	ready := func() int { code, _ := httpGet(t, "http://"+status+"/readyz"); return code }
	if code := ready(); code != 200 {
		t.Fatalf("/readyz = %d with PostgreSQL up", code)
	}
	proxy.cut()
	eventually(t, 15*time.Second, "/readyz 503 with PostgreSQL unreachable", func() bool { return ready() == 503 })
	if code, _ := httpGet(t, "http://"+status+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d while the store is down: liveness must not follow the store", code)
	}
	if v, _ := value(scrape(t, status), "tollgate_store_errors_total", map[string]string{"operation": "probe", "store": "postgres"}); v < 1 {
		t.Errorf("store probe errors = %v", v)
	}
	proxy.restore(t)
	eventually(t, 15*time.Second, "/readyz 200 with PostgreSQL back", func() bool { return ready() == 200 })
}
