// Package reqstats keeps the data plane's per-request statistics — requests, errors, latency
// histograms, throttles and quota rejections — as plain atomic counters that the snapshot binds
// to each method, stage and plan when it is built. A request therefore updates its statistics
// with a few atomic adds on objects it already holds: no map lookup, no label hashing, no lock
// and no allocation, which is what a metrics library's labelled vectors cost per call. The
// Prometheus exposition (internal/metrics) reads the counters at scrape time.
//
// Series exist only for what the configuration declares (deployed methods, stages and usage
// plans), so cardinality is bounded by the configuration, never by what clients send: requests
// for unknown APIs, stages or paths are counted on fixed "unmatched" series, and no series is
// ever labelled with an API key.
package reqstats

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Bounds are the latency histogram's upper bounds in seconds: from half a millisecond (the
// gateway's own overhead) to 30 s (past API Gateway's 29 s integration timeout).
var Bounds = [...]float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// boundsNS are Bounds in nanoseconds, for a comparison without floating point.
var boundsNS = func() (b [len(Bounds)]int64) {
	for i, s := range Bounds {
		b[i] = int64(s * 1e9)
	}
	return
}()

// Histogram is a lock-free latency histogram: one counter per bucket (not cumulative; the last
// one is +Inf) and the sum in nanoseconds.
type Histogram struct {
	counts [len(Bounds) + 1]atomic.Uint64
	sumNS  atomic.Int64
}

// Observe records one duration.
func (h *Histogram) Observe(d time.Duration) {
	ns := int64(d)
	i := 0
	for i < len(boundsNS) && ns > boundsNS[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumNS.Add(ns)
}

// Read returns the cumulative bucket counts (index i: observations ≤ Bounds[i]), the total count
// and the sum in seconds. Concurrent observations may be half-counted; every read is a
// consistent enough picture for a scrape, and counts never go down.
func (h *Histogram) Read() (cumulative [len(Bounds)]uint64, count uint64, sum float64) {
	var c uint64
	for i := range Bounds {
		c += h.counts[i].Load()
		cumulative[i] = c
	}
	count = c + h.counts[len(Bounds)].Load()
	return cumulative, count, float64(h.sumNS.Load()) / 1e9
}

// MethodLabels identify a method's series, as CloudWatch's ApiId, Stage, Method and Resource
// dimensions do.
type MethodLabels struct {
	API, Stage, Method, Resource string
}

// Method is the statistics of one deployed method (or of a stage's unmatched requests).
type Method struct {
	Labels MethodLabels
	// Count is derived from Latency: every request is observed there.
	Err4xx, Err5xx     atomic.Uint64
	Latency            Histogram
	IntegrationLatency Histogram
	gen                uint64
}

// Observe records one request: its status, its latency and, when an integration ran, the
// integration's latency (integration < 0: none).
func (m *Method) Observe(status int, latency, integration time.Duration) {
	switch {
	case status >= 500:
		m.Err5xx.Add(1)
	case status >= 400:
		m.Err4xx.Add(1)
	}
	m.Latency.Observe(latency)
	if integration >= 0 {
		m.IntegrationLatency.Observe(integration)
	}
}

// Scope is the throttle that refused a request.
type Scope uint8

// The throttle scopes, in the order enforcement applies them.
const (
	ScopePlan    Scope = iota // the usage plan's throttle of the key
	ScopeMethod               // the usage plan's method-level throttle
	ScopeStage                // the stage's method settings
	ScopeAccount              // the account (region) throttle
	numScopes
)

// String is the scope's label value.
func (s Scope) String() string {
	return [...]string{"plan", "method", "stage", "account"}[s]
}

// Stage is the statistics of one deployed stage.
type Stage struct {
	API, Name string
	Throttled [numScopes]atomic.Uint64
	// Unmatched counts requests to the stage that matched no method (and the stage's refusals
	// before routing), so that a scan of random paths adds no series.
	Unmatched Method
	gen       uint64
}

// Plan is the statistics of one usage plan.
type Plan struct {
	ID            string
	QuotaRejected atomic.Uint64
	gen           uint64
}

// Registry holds the statistics objects, keyed by their labels, so that a new snapshot binds
// the same objects as the one it replaces and counters continue across configuration changes.
// It is used when snapshots are built (get-or-create under a mutex), never per request.
type Registry struct {
	mu      sync.Mutex
	gen     uint64
	methods map[MethodLabels]*Method
	stages  map[[2]string]*Stage
	plans   map[string]*Plan
	// Unrouted counts requests for an API or stage that is not deployed.
	Unrouted Method
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{methods: map[MethodLabels]*Method{}, stages: map[[2]string]*Stage{}, plans: map[string]*Plan{}}
}

// Begin starts binding a new snapshot: objects it binds are kept by the matching End, the others
// (methods, stages and plans the new configuration no longer has) are dropped, with their series.
func (r *Registry) Begin() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gen++
	return r.gen
}

// End drops what the snapshot begun with gen did not bind. A later Begin wins: an End for an
// older generation (a build that overlapped a newer one) drops nothing.
func (r *Registry) End(gen uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if gen != r.gen {
		return
	}
	for k, m := range r.methods {
		if m.gen != gen {
			delete(r.methods, k)
		}
	}
	for k, s := range r.stages {
		if s.gen != gen {
			delete(r.stages, k)
		}
	}
	for k, p := range r.plans {
		if p.gen != gen {
			delete(r.plans, k)
		}
	}
}

// Method returns the statistics of a method, creating them.
func (r *Registry) Method(l MethodLabels) *Method {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.methods[l]
	if m == nil {
		m = &Method{Labels: l}
		r.methods[l] = m
	}
	m.gen = r.gen
	return m
}

// Stage returns the statistics of a stage, creating them.
func (r *Registry) Stage(api, name string) *Stage {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := [2]string{api, name}
	s := r.stages[k]
	if s == nil {
		s = &Stage{API: api, Name: name}
		s.Unmatched.Labels = MethodLabels{API: api, Stage: name}
		r.stages[k] = s
	}
	s.gen = r.gen
	return s
}

// Plan returns the statistics of a usage plan, creating them.
func (r *Registry) Plan(id string) *Plan {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.plans[id]
	if p == nil {
		p = &Plan{ID: id}
		r.plans[id] = p
	}
	p.gen = r.gen
	return p
}

// Visit calls the functions with every method (the stages' unmatched series and Unrouted
// included), stage and plan, in a stable order, for an exposition.
func (r *Registry) Visit(method func(*Method), stage func(*Stage), plan func(*Plan)) {
	r.mu.Lock()
	methods := make([]*Method, 0, len(r.methods)+len(r.stages)+1)
	for _, m := range r.methods {
		methods = append(methods, m)
	}
	stages := make([]*Stage, 0, len(r.stages))
	for _, s := range r.stages {
		stages = append(stages, s)
		methods = append(methods, &s.Unmatched)
	}
	plans := make([]*Plan, 0, len(r.plans))
	for _, p := range r.plans {
		plans = append(plans, p)
	}
	r.mu.Unlock()
	methods = append(methods, &r.Unrouted)
	sort.Slice(methods, func(i, j int) bool { return less(methods[i].Labels, methods[j].Labels) })
	sort.Slice(stages, func(i, j int) bool { return stages[i].API+"\x00"+stages[i].Name < stages[j].API+"\x00"+stages[j].Name })
	sort.Slice(plans, func(i, j int) bool { return plans[i].ID < plans[j].ID })
	for _, m := range methods {
		method(m)
	}
	for _, s := range stages {
		stage(s)
	}
	for _, p := range plans {
		plan(p)
	}
}

func less(a, b MethodLabels) bool {
	if a.API != b.API {
		return a.API < b.API
	}
	if a.Stage != b.Stage {
		return a.Stage < b.Stage
	}
	if a.Resource != b.Resource {
		return a.Resource < b.Resource
	}
	return a.Method < b.Method
}
