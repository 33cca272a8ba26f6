package reqstats

import (
	"sync"
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	var h Histogram
	for _, d := range []time.Duration{0, 500 * time.Microsecond, 501 * time.Microsecond, 3 * time.Millisecond, time.Second, time.Minute} {
		h.Observe(d)
	}
	cum, count, sum := h.Read()
	// ≤0.5ms: 0 and 0.5ms; ≤1ms: +0.501ms; ≤5ms: +3ms; ≤1s: +1s; +Inf: the minute.
	for _, c := range []struct {
		bound float64
		want  uint64
	}{{0.0005, 2}, {0.001, 3}, {0.0025, 3}, {0.005, 4}, {0.5, 4}, {1, 5}, {30, 5}} {
		i := 0
		for Bounds[i] != c.bound {
			i++
		}
		if cum[i] != c.want {
			t.Errorf("le=%v: %d, want %d", c.bound, cum[i], c.want)
		}
	}
	if count != 6 {
		t.Errorf("count %d", count)
	}
	if want := (time.Minute + time.Second + 3*time.Millisecond + 1001*time.Microsecond).Seconds(); sum < want-1e-9 || sum > want+1e-9 {
		t.Errorf("sum %v, want %v", sum, want)
	}
}

func TestMethodObserve(t *testing.T) {
	var m Method
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				m.Observe([]int{200, 404, 503, 302}[i%4], time.Millisecond, -1)
			}
		}()
	}
	wg.Wait()
	_, count, _ := m.Latency.Read()
	_, icount, _ := m.IntegrationLatency.Read()
	if count != 8000 || m.Err4xx.Load() != 2000 || m.Err5xx.Load() != 2000 || icount != 0 {
		t.Errorf("count %d 4xx %d 5xx %d integration %d", count, m.Err4xx.Load(), m.Err5xx.Load(), icount)
	}
	if n := testing.AllocsPerRun(1000, func() { m.Observe(200, time.Millisecond, time.Millisecond) }); n != 0 {
		t.Errorf("Observe allocates %v", n)
	}
}

// TestRegistryKeepsAndDrops: a new build binds the same objects for the same labels (counters
// continue), and what it no longer binds is dropped from the exposition.
func TestRegistryKeepsAndDrops(t *testing.T) {
	r := NewRegistry()
	g := r.Begin()
	a := r.Method(MethodLabels{"api", "prod", "GET", "/a"})
	r.Method(MethodLabels{"api", "prod", "GET", "/b"})
	r.Stage("api", "prod")
	r.Plan("p1")
	r.End(g)
	a.Err4xx.Add(1)

	g = r.Begin()
	if again := r.Method(MethodLabels{"api", "prod", "GET", "/a"}); again != a || again.Err4xx.Load() != 1 {
		t.Error("the same labels got new statistics")
	}
	r.Stage("api", "prod")
	r.End(g)
	var methods []string
	var plans int
	r.Visit(func(m *Method) { methods = append(methods, m.Labels.Resource) }, func(*Stage) {}, func(*Plan) { plans++ })
	// /a, the stage's unmatched series (""), and Unrouted ("").
	if len(methods) != 3 || plans != 0 {
		t.Errorf("after the second build: methods %q, plans %d", methods, plans)
	}
	// An overlapped older build ends without dropping the newer one's objects.
	old := r.Begin()
	newer := r.Begin()
	r.Method(MethodLabels{"api", "prod", "GET", "/a"})
	r.End(old)
	r.End(newer)
	methods = nil
	r.Visit(func(m *Method) { methods = append(methods, m.Labels.Resource) }, func(*Stage) {}, func(*Plan) {})
	if len(methods) != 2 {
		t.Errorf("after overlapping builds: %q", methods)
	}
}
