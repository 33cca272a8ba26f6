// Package metrics is Tollgate's Prometheus exposition (/metrics on the status listener).
//
// The data plane's per-request statistics are not kept in this package: they are plain atomics
// (internal/reqstats) that each snapshot binds to its methods, stages and plans, and a request
// adds to them without a lookup, a lock or an allocation. This package reads them at scrape time
// and exposes them as const metrics through prometheus/client_golang, which also brings the Go
// runtime and process collectors, # HELP / # TYPE metadata and the text format 0.0.4. The
// choice is measured in BenchmarkHotPath (choice_test.go), two cores recording into one method:
// reqstats 146 ns a request, VictoriaMetrics' histograms 151 ns but under a mutex per update,
// a client_golang HistogramVec looked up per request 371 ns (a label hash and a read lock),
// client_golang histograms bound once 492 ns (a hot/cold pair and a CAS loop on the float sum).
//
// The families are named after API Gateway's CloudWatch metrics (Count, 4XXError, 5XXError,
// Latency, IntegrationLatency) with the dimensions CloudWatch gives them (API, stage, method,
// resource). No label ever holds an API key or anything else a client chooses.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tollgate/tollgate/internal/reqstats"
)

// Sources are what the exposition reads at scrape time. Any function may be nil (not exposed).
type Sources struct {
	Requests *reqstats.Registry
	// QuotaLeases returns the quota-lease counters: leases granted, returned, requests that
	// waited for one, and ledger (store) errors.
	QuotaLeases func() (granted, returned, waits, errors uint64)
	// UsageFlushAge is how long ago usage counts were last written to the store.
	UsageFlushAge func() time.Duration
	// RedisErrors is how many throttle checks Redis failed.
	RedisErrors func() uint64
	// AccessLog returns the access-log lines written and dropped (queue full).
	AccessLog func() (written, dropped uint64)
	// TLSNotAfter is when the served TLS certificate expires.
	TLSNotAfter func() time.Time
	// EventLoops returns the gnet engine's connections handed to the fasthttp engine, by
	// reason, and its answers relayed off the loops (nil on the other engines).
	EventLoops func() (handoffs map[string]uint64, relays uint64)
}

// Metrics is the registry behind /metrics, and the counters that other parts of the process
// update directly (they are not per request).
type Metrics struct {
	reg *prometheus.Registry
	// SnapshotSwaps and SnapshotBuild: every snapshot installed, and how long its load and build
	// took.
	SnapshotSwaps prometheus.Counter
	SnapshotBuild prometheus.Histogram
	// StoreErrors counts failed store operations by operation (usage_flush, snapshot, probe,
	// heartbeat).
	StoreErrors *prometheus.CounterVec
}

// StoreOps are the operations StoreErrors counts, created at zero so a dashboard sees them.
// Quota-lease failures have their own family, tollgate_quota_lease_errors_total.
var StoreOps = []string{"usage_flush", "snapshot", "probe", "heartbeat"}

// New returns the metrics of a process: version, store kind (sqlite or postgres), sources. The
// sources are read at every scrape, so they may be filled in after New, before serving.
func New(version, store string, src *Sources) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		SnapshotSwaps: prometheus.NewCounter(prometheus.CounterOpts{Name: "tollgate_snapshot_swaps_total",
			Help: "Data-plane configuration snapshots installed (each management write that changed the configuration, and the periodic resync)."}),
		SnapshotBuild: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tollgate_snapshot_build_seconds",
			Help:    "Time to load the configuration from the store and build a data-plane snapshot.",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}}),
		StoreErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_store_errors_total",
			Help:        "Failed operations on the store (SQLite or PostgreSQL), by operation.",
			ConstLabels: prometheus.Labels{"store": store}}, []string{"operation"}),
	}
	for _, op := range StoreOps {
		m.StoreErrors.WithLabelValues(op)
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{Name: "tollgate_build_info",
		Help: "Always 1: the version of this process and the kind of store it runs on.", ConstLabels: prometheus.Labels{"version": version, "store": store}})
	info.Set(1)
	reg.MustRegister(m.SnapshotSwaps, m.SnapshotBuild, m.StoreErrors, info,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&collector{src: src})
	return m
}

// ObserveSnapshot records one snapshot build and swap.
func (m *Metrics) ObserveSnapshot(d time.Duration) {
	m.SnapshotSwaps.Inc()
	m.SnapshotBuild.Observe(d.Seconds())
}

// StoreError counts one failed store operation.
func (m *Metrics) StoreError(op string) { m.StoreErrors.WithLabelValues(op).Inc() }

// Handler serves the exposition (text format 0.0.4 unless the scraper asks for another).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

var methodLabels = []string{"api", "stage", "method", "resource"}

var (
	descCount = prometheus.NewDesc("tollgate_count_total",
		"Requests served, as API Gateway's Count metric: by API id, stage, method and resource (empty method and resource: requests that matched no method; all empty: no deployed API or stage).", methodLabels, nil)
	desc4xx = prometheus.NewDesc("tollgate_4xxerror_total",
		"Requests answered with a 4xx status, as API Gateway's 4XXError metric.", methodLabels, nil)
	desc5xx = prometheus.NewDesc("tollgate_5xxerror_total",
		"Requests answered with a 5xx status, as API Gateway's 5XXError metric.", methodLabels, nil)
	descLatency = prometheus.NewDesc("tollgate_latency_seconds",
		"Time from receiving a request to answering it (the response head; a streamed body may take longer), as API Gateway's Latency metric.", methodLabels, nil)
	descIntegration = prometheus.NewDesc("tollgate_integration_latency_seconds",
		"Time the integration's backend took to answer, as API Gateway's IntegrationLatency metric (HTTP and HTTP_PROXY integrations).", methodLabels, nil)
	descThrottled = prometheus.NewDesc("tollgate_throttled_total",
		"Requests refused with 429 Too Many Requests by a throttle, by API id, stage and scope (plan: the usage plan's throttle of the key; method: the plan's method throttle; stage: the stage's method settings; account: the account throttle).", []string{"api", "stage", "scope"}, nil)
	descQuota = prometheus.NewDesc("tollgate_quota_exceeded_total",
		"Requests refused with 429 Limit Exceeded because the key's quota in the usage plan was used up, by usage plan id.", []string{"usage_plan"}, nil)
	descLeaseGranted = prometheus.NewDesc("tollgate_quota_leases_granted_total",
		"Quota leases reserved in the store (a block of a key's quota this node may admit without asking again).", nil, nil)
	descLeaseReturned = prometheus.NewDesc("tollgate_quota_leases_returned_total",
		"Unused quota leases given back to the store (idle keys, period ends, shutdown).", nil, nil)
	descLeaseWaits = prometheus.NewDesc("tollgate_quota_lease_waits_total",
		"Requests that waited for a quota lease from the store (the key's first request of a period, or a lease run dry).", nil, nil)
	descLeaseErrors = prometheus.NewDesc("tollgate_quota_lease_errors_total",
		"Quota-lease operations the store failed.", nil, nil)
	descFlushAge = prometheus.NewDesc("tollgate_usage_flush_lag_seconds",
		"Seconds since usage counts were last written to the store: what GetUsage may lag behind, and what a crash could lose (normally under the flush interval).", nil, nil)
	descRedis = prometheus.NewDesc("tollgate_redis_errors_total",
		"Throttle checks that Redis failed or answered too late (the counters-failure policy applied).", nil, nil)
	descLogWritten = prometheus.NewDesc("tollgate_access_log_lines_total",
		"Access-log lines written.", nil, nil)
	descLogDropped = prometheus.NewDesc("tollgate_access_log_dropped_total",
		"Access-log lines dropped because the writer's queue was full (the disk was slower than the traffic).", nil, nil)
	descHandoffs = prometheus.NewDesc("tollgate_loop_handoffs_total",
		"Connections the event-loop engine (--engine gnet) handed to the fasthttp engine, by reason: management (not an invocation), body (chunked, over 64 KB, Expect), method (authorizer, AWS_IAM, Lambda, https backend), target (not a path), counters (Redis throttles). What stays on the loops is the rest of the traffic.", []string{"reason"}, nil)
	descRelays = prometheus.NewDesc("tollgate_loop_offloop_relays_total",
		"Answers the event-loop engine relayed off its loops because the client fell more than 1 MB behind.", nil, nil)
	descTLSExpiry = prometheus.NewDesc("tollgate_tls_certificate_expiry_timestamp_seconds",
		"When the served TLS certificate expires (Unix time); alert well before it.", nil, nil)
)

// collector reads the sources at scrape time.
type collector struct{ src *Sources }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCount, desc4xx, desc5xx, descLatency, descIntegration, descThrottled, descQuota,
		descLeaseGranted, descLeaseReturned, descLeaseWaits, descLeaseErrors, descFlushAge, descRedis, descLogWritten, descLogDropped, descTLSExpiry, descHandoffs, descRelays} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	if r := c.src.Requests; r != nil {
		r.Visit(func(m *reqstats.Method) {
			l := m.Labels
			lv := []string{l.API, l.Stage, l.Method, l.Resource}
			cum, count, sum := m.Latency.Read()
			ch <- prometheus.MustNewConstMetric(descCount, prometheus.CounterValue, float64(count), lv...)
			ch <- prometheus.MustNewConstMetric(desc4xx, prometheus.CounterValue, float64(m.Err4xx.Load()), lv...)
			ch <- prometheus.MustNewConstMetric(desc5xx, prometheus.CounterValue, float64(m.Err5xx.Load()), lv...)
			ch <- prometheus.MustNewConstHistogram(descLatency, count, sum, buckets(cum), lv...)
			icum, icount, isum := m.IntegrationLatency.Read()
			ch <- prometheus.MustNewConstHistogram(descIntegration, icount, isum, buckets(icum), lv...)
		}, func(s *reqstats.Stage) {
			for sc := reqstats.ScopePlan; sc <= reqstats.ScopeAccount; sc++ {
				ch <- prometheus.MustNewConstMetric(descThrottled, prometheus.CounterValue, float64(s.Throttled[sc].Load()), s.API, s.Name, sc.String())
			}
		}, func(p *reqstats.Plan) {
			ch <- prometheus.MustNewConstMetric(descQuota, prometheus.CounterValue, float64(p.QuotaRejected.Load()), p.ID)
		})
	}
	if f := c.src.QuotaLeases; f != nil {
		g, r, w, e := f()
		ch <- prometheus.MustNewConstMetric(descLeaseGranted, prometheus.CounterValue, float64(g))
		ch <- prometheus.MustNewConstMetric(descLeaseReturned, prometheus.CounterValue, float64(r))
		ch <- prometheus.MustNewConstMetric(descLeaseWaits, prometheus.CounterValue, float64(w))
		ch <- prometheus.MustNewConstMetric(descLeaseErrors, prometheus.CounterValue, float64(e))
	}
	if f := c.src.UsageFlushAge; f != nil {
		ch <- prometheus.MustNewConstMetric(descFlushAge, prometheus.GaugeValue, f().Seconds())
	}
	if f := c.src.RedisErrors; f != nil {
		ch <- prometheus.MustNewConstMetric(descRedis, prometheus.CounterValue, float64(f()))
	}
	if f := c.src.AccessLog; f != nil {
		w, d := f()
		ch <- prometheus.MustNewConstMetric(descLogWritten, prometheus.CounterValue, float64(w))
		ch <- prometheus.MustNewConstMetric(descLogDropped, prometheus.CounterValue, float64(d))
	}
	if f := c.src.TLSNotAfter; f != nil {
		ch <- prometheus.MustNewConstMetric(descTLSExpiry, prometheus.GaugeValue, float64(f().Unix()))
	}
	if f := c.src.EventLoops; f != nil {
		handoffs, relays := f()
		for reason, n := range handoffs {
			ch <- prometheus.MustNewConstMetric(descHandoffs, prometheus.CounterValue, float64(n), reason)
		}
		ch <- prometheus.MustNewConstMetric(descRelays, prometheus.CounterValue, float64(relays))
	}
}

// buckets maps reqstats' cumulative counts to their upper bounds.
func buckets(cum [len(reqstats.Bounds)]uint64) map[float64]uint64 {
	m := make(map[float64]uint64, len(cum))
	for i, b := range reqstats.Bounds {
		m[b] = cum[i]
	}
	return m
}
