package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// round is one measured run of one system: the load generator's view plus the /proc deltas of
// the system's processes (and of the backend behind it) over the same interval.
type round struct {
	load
	ticks        int64   // the system's CPU over the round
	backendTicks int64   // the backend's CPU over the round (0 for the backend itself)
	rssKB        int64   // the system's resident memory at the end of the round
	otherPct     float64 // CPU taken by processes outside the benchmark, % of one core
}

func (r round) rps() float64 { return float64(r.requests) / r.seconds }

// µs of CPU per request.
func perReq(ticks, requests int64) float64 {
	if requests == 0 {
		return 0
	}
	return float64(ticks) * 1e6 / clockTick / float64(requests)
}

// summary is a system's medians over its rounds (max for RSS, sums for the error counts).
type summary struct {
	rps, p50, p99, cpu, backendCPU, other float64
	rssMB                                 float64
	requests, non2xx, sockErrs            int64
}

func summarize(s *system) summary {
	var out summary
	med := func(f func(r round) float64) float64 {
		v := make([]float64, len(s.rounds))
		for i, r := range s.rounds {
			v[i] = f(r)
		}
		return median(v)
	}
	out.rps = med(func(r round) float64 { return r.rps() })
	out.p50 = med(func(r round) float64 { return float64(r.p50) / float64(time.Millisecond) })
	out.p99 = med(func(r round) float64 { return float64(r.p99) / float64(time.Millisecond) })
	out.cpu = med(func(r round) float64 { return perReq(r.ticks, r.requests) })
	out.backendCPU = med(func(r round) float64 { return perReq(r.backendTicks, r.requests) })
	out.other = med(func(r round) float64 { return r.otherPct })
	for _, r := range s.rounds {
		out.rssMB = max(out.rssMB, float64(r.rssKB)/1024)
		out.requests += r.requests
		out.non2xx += r.non2xx
		out.sockErrs += r.sockErrs
	}
	return out
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// report prints the results as Markdown, ready to paste into an issue: one row per system, the
// ratios of each Tollgate run to the references, and the per-round requests/s so the spread (and
// the noise of a shared machine) is visible.
func report(w io.Writer, header []string, systems []*system, isBackend func(*system) bool) {
	for _, h := range header {
		fmt.Fprintln(w, h)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| system | requests/s | p50 ms | p99 ms | CPU µs/req | + backend µs/req | RSS MB | non-2xx | socket errors | other load %CPU |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	sums := map[string]summary{}
	for _, s := range systems {
		if len(s.rounds) == 0 {
			continue
		}
		m := summarize(s)
		sums[s.name] = m
		backend := fmt.Sprintf("%.1f", m.backendCPU)
		if isBackend(s) {
			backend = "—"
		}
		non2xx := fmt.Sprintf("%d", m.non2xx)
		if s.rejects && m.requests > 0 {
			non2xx = fmt.Sprintf("%d (%.1f%%, by design)", m.non2xx, 100*float64(m.non2xx)/float64(m.requests))
		}
		fmt.Fprintf(w, "| %s — %s | %.0f | %.2f | %.2f | %.1f | %s | %.1f | %s | %d | %.0f |\n",
			s.name, s.desc, m.rps, m.p50, m.p99, m.cpu, backend, m.rssMB, non2xx, m.sockErrs, m.other)
	}
	fmt.Fprintln(w)

	refs := []string{"nginx", "nginx-lua", "goproxy", "fastprobe", "tollgate-compare", "tollgate"}
	var rows []string
	for _, s := range systems {
		t, ok := sums[s.name]
		if !ok || !strings.HasPrefix(s.name, "tollgate") {
			continue
		}
		for _, ref := range refs {
			// tollgate-metrics, tollgate-accesslog and tollgate-console against tollgate: the cost
			// of each option.
			if ref == s.name || s.name == "tollgate-compare" && strings.HasPrefix(ref, "tollgate") ||
				ref == "tollgate" && s.name != "tollgate-metrics" && s.name != "tollgate-accesslog" && s.name != "tollgate-console" {
				continue
			}
			r, ok := sums[ref]
			if !ok || r.rps == 0 || r.cpu == 0 || r.p99 == 0 {
				continue
			}
			rows = append(rows, fmt.Sprintf("| %s / %s | %.2f× | %.2f× | %.2f× |", s.name, ref, t.rps/r.rps, t.cpu/r.cpu, t.p99/r.p99))
		}
	}
	if len(rows) > 0 {
		fmt.Fprintln(w, "Ratios (requests/s: higher is better for Tollgate; CPU per request and p99: lower is better)")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| Tollgate / reference | requests/s | CPU µs/req | p99 |")
		fmt.Fprintln(w, "|---|---:|---:|---:|")
		for _, r := range rows {
			fmt.Fprintln(w, r)
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintln(w, "Per round (requests/s, in the order run):")
	fmt.Fprintln(w)
	for _, s := range systems {
		if len(s.rounds) == 0 {
			continue
		}
		parts := make([]string, len(s.rounds))
		for i, r := range s.rounds {
			parts[i] = fmt.Sprintf("%.0f", r.rps())
		}
		fmt.Fprintf(w, "    %-16s %s\n", s.name, strings.Join(parts, "  "))
	}
}
