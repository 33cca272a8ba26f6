package metrics

import (
	"testing"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate/tollgate/internal/reqstats"
)

// BenchmarkHotPath measures what recording one request costs (its latency and integration
// latency; the count comes with the histogram) on every core at once, for each way Tollgate
// could keep per-method metrics. It is why the data plane uses reqstats, bound to the snapshot,
// and client_golang only for the exposition:
//
//   - reqstats: two lock-free histograms the request already holds;
//   - client_golang/bound: client_golang histograms looked up once (the same binding), whose
//     Observe is lock-free but keeps a hot/cold pair and a float sum updated by CAS;
//   - client_golang/vec: HistogramVec.WithLabelValues per request, as most gateways do — a
//     label hash, a map lookup under a read lock;
//   - victoriametrics: VictoriaMetrics/metrics histograms, bound once, whose Update takes a mutex.
func BenchmarkHotPath(b *testing.B) {
	const lat, integ = 3 * time.Millisecond, 2 * time.Millisecond
	b.Run("reqstats", func(b *testing.B) {
		var m reqstats.Method
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.Observe(200, lat, integ)
			}
		})
	})
	b.Run("client_golang/bound", func(b *testing.B) {
		opts := func(n string) prometheus.HistogramOpts {
			return prometheus.HistogramOpts{Name: n, Help: n, Buckets: reqstats.Bounds[:]}
		}
		h1 := prometheus.NewHistogramVec(opts("latency"), methodLabels).WithLabelValues("api", "prod", "GET", "/pets")
		h2 := prometheus.NewHistogramVec(opts("integration"), methodLabels).WithLabelValues("api", "prod", "GET", "/pets")
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				h1.Observe(lat.Seconds())
				h2.Observe(integ.Seconds())
			}
		})
	})
	b.Run("client_golang/vec", func(b *testing.B) {
		opts := func(n string) prometheus.HistogramOpts {
			return prometheus.HistogramOpts{Name: n, Help: n, Buckets: reqstats.Bounds[:]}
		}
		v1, v2 := prometheus.NewHistogramVec(opts("latency"), methodLabels), prometheus.NewHistogramVec(opts("integration"), methodLabels)
		api, stage, method, resource := "api", "prod", "GET", "/pets"
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				v1.WithLabelValues(api, stage, method, resource).Observe(lat.Seconds())
				v2.WithLabelValues(api, stage, method, resource).Observe(integ.Seconds())
			}
		})
	})
	b.Run("victoriametrics", func(b *testing.B) {
		s := vm.NewSet()
		h1 := s.NewPrometheusHistogramExt(`latency_seconds{api="api",stage="prod",method="GET",resource="/pets"}`, reqstats.Bounds[:])
		h2 := s.NewPrometheusHistogramExt(`integration_seconds{api="api",stage="prod",method="GET",resource="/pets"}`, reqstats.Bounds[:])
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				h1.Update(lat.Seconds())
				h2.Update(integ.Seconds())
			}
		})
	})
}
