package console

import (
	"sort"
	"sync"
	"time"

	"github.com/tollgate/tollgate/internal/reqstats"
)

// sampleEvery is the overview's resolution; an hour of samples is kept.
const (
	sampleEvery = 2 * time.Second
	keepSamples = int(time.Hour / sampleEvery)
)

// point is one interval of the overview: rates per second over the interval before T.
type point struct {
	T         int64   `json:"t"` // Unix ms
	Requests  float64 `json:"requests"`
	Err4xx    float64 `json:"err4xx"`
	Err5xx    float64 `json:"err5xx"`
	Throttled float64 `json:"throttled"`
	Quota     float64 `json:"quota"`
}

// totals are the registry's counters at one moment.
type totals struct {
	requests, err4xx, err5xx, throttled, quota uint64
	stages                                     map[string]uint64 // "api/stage" → throttled
}

// sampler reads the data plane's statistics every sampleEvery while the console is on: a
// handful of atomic loads per deployed method, nothing on the request path.
type sampler struct {
	stats *reqstats.Registry
	now   func() time.Time
	mu    sync.Mutex
	ring  []point
	last  totals
	lastT time.Time
	// hot is when each stage last throttled a request.
	hot  map[string]time.Time
	quit chan struct{}
	once sync.Once
}

func newSampler(stats *reqstats.Registry, now func() time.Time) *sampler {
	s := &sampler{stats: stats, now: now, hot: map[string]time.Time{}, quit: make(chan struct{})}
	if stats == nil {
		return s
	}
	s.last, s.lastT = s.read(), now()
	go func() {
		t := time.NewTicker(sampleEvery)
		defer t.Stop()
		for {
			select {
			case <-s.quit:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
	return s
}

func (s *sampler) stop() { s.once.Do(func() { close(s.quit) }) }

func (s *sampler) read() totals {
	t := totals{stages: map[string]uint64{}}
	s.stats.Visit(func(m *reqstats.Method) {
		_, n, _ := m.Latency.Read()
		t.requests += n
		t.err4xx += m.Err4xx.Load()
		t.err5xx += m.Err5xx.Load()
	}, func(st *reqstats.Stage) {
		_, n, _ := st.Unmatched.Latency.Read()
		t.requests += n
		t.err4xx += st.Unmatched.Err4xx.Load()
		t.err5xx += st.Unmatched.Err5xx.Load()
		var th uint64
		for i := range st.Throttled {
			th += st.Throttled[i].Load()
		}
		t.throttled += th
		t.stages[st.API+"/"+st.Name] = th
	}, func(p *reqstats.Plan) {
		t.quota += p.QuotaRejected.Load()
	})
	_, n, _ := s.stats.Unrouted.Latency.Read()
	t.requests += n
	t.err4xx += s.stats.Unrouted.Err4xx.Load()
	t.err5xx += s.stats.Unrouted.Err5xx.Load()
	return t
}

// sample appends one point. Counters that went down (a series dropped and re-created) count
// as zero for the interval.
func (s *sampler) sample() {
	cur, now := s.read(), s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	secs := now.Sub(s.lastT).Seconds()
	if secs <= 0 {
		return
	}
	rate := func(a, b uint64) float64 {
		if a < b {
			return 0
		}
		return float64(a-b) / secs
	}
	s.ring = append(s.ring, point{T: now.UnixMilli(), Requests: rate(cur.requests, s.last.requests), Err4xx: rate(cur.err4xx, s.last.err4xx),
		Err5xx: rate(cur.err5xx, s.last.err5xx), Throttled: rate(cur.throttled, s.last.throttled), Quota: rate(cur.quota, s.last.quota)})
	if len(s.ring) > keepSamples {
		s.ring = s.ring[len(s.ring)-keepSamples:]
	}
	for k, v := range cur.stages {
		if v > s.last.stages[k] {
			s.hot[k] = now
		}
	}
	for k, t := range s.hot {
		if now.Sub(t) > time.Hour {
			delete(s.hot, k)
		}
	}
	s.last, s.lastT = cur, now
}

// history returns the samples of the last hour.
func (s *sampler) history() []point {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]point(nil), s.ring...)
}

// throttling lists the stages that throttled a request within the last window, most recent
// first.
func (s *sampler) throttling(window time.Duration) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var out []string
	for k, t := range s.hot {
		if now.Sub(t) <= window {
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return s.hot[out[i]].After(s.hot[out[j]]) })
	return out
}
