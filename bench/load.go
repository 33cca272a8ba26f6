package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// wrkScript sends, per request, one of the benchmark's keys chosen at random in the x-api-key
// header: a gateway cannot serve such traffic from one hot cache line, as it could with one key.
// The requests are formatted once per thread in init, so wrk spends its CPU on the connections
// (it shares the machine with the systems it measures). done prints one machine-readable line.
const wrkScript = `
local reqs, n = {}, 0

function setup(thread)
  setup_id = (setup_id or 0) + 1
  thread:set("thread_id", setup_id)
end

function init(args)
  local file, path, host = args[1], args[2], args[3]
  local headers = {}
  if host ~= nil and host ~= "" then headers["Host"] = host end
  for line in io.lines(file) do
    if line ~= "" then
      headers["x-api-key"] = line
      n = n + 1
      reqs[n] = wrk.format("GET", path, headers)
    end
  end
  math.randomseed(os.time() * 1000 + (thread_id or 0) * 7919)
end

function request()
  return reqs[math.random(n)]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`

// load is one timed run against a system.
type load struct {
	requests    int64
	seconds     float64
	non2xx      int64 // answers with status ≥ 400 (wrk counts these; 3xx are not expected here)
	sockErrs    int64 // connect, read, write errors and timeouts
	p50, p99    time.Duration
	clientTicks int64 // CPU the load generator used, 1/clockTick s
}

// loader drives a system for d with the benchmark's connection and thread counts.
type loader interface {
	run(ctx context.Context, s *system, d time.Duration) (load, error)
	name() string
}

// wrkLoader runs wrk with wrkScript.
type wrkLoader struct {
	script, keysFile string
	threads, conns   int
}

func (w *wrkLoader) name() string {
	v, _, _ := strings.Cut(toolVersion("wrk", "-v"), " Copyright")
	return fmt.Sprintf("wrk -t%d -c%d (%s)", w.threads, w.conns, v)
}

func (w *wrkLoader) run(ctx context.Context, s *system, d time.Duration) (load, error) {
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	secs := int(d.Round(time.Second) / time.Second)
	cmd := exec.CommandContext(ctx, "wrk", "-t", strconv.Itoa(w.threads), "-c", strconv.Itoa(w.conns),
		"-d", strconv.Itoa(max(secs, 1))+"s", "--timeout", "5s", "-s", w.script, "http://"+s.addr,
		"--", w.keysFile, s.path, s.host)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return load{}, fmt.Errorf("wrk against %s: %v\n%s", s.name, err, tail(out, 2000))
	}
	var l load
	line := ""
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "BENCH ") {
			line = sc.Text()
		}
	}
	if line == "" {
		return l, fmt.Errorf("wrk against %s printed no result:\n%s", s.name, tail(out, 2000))
	}
	f := map[string]int64{}
	for _, kv := range strings.Fields(line)[1:] {
		k, v, _ := strings.Cut(kv, "=")
		f[k], _ = strconv.ParseInt(v, 10, 64)
	}
	l.requests = f["requests"]
	l.seconds = float64(f["duration_us"]) / 1e6
	l.non2xx = f["non2xx"]
	l.sockErrs = f["connect"] + f["read"] + f["write"] + f["timeout"]
	l.p50 = time.Duration(f["p50_us"]) * time.Microsecond
	l.p99 = time.Duration(f["p99_us"]) * time.Microsecond
	if ps := cmd.ProcessState; ps != nil {
		l.clientTicks = int64((ps.UserTime() + ps.SystemTime()) * clockTick / time.Second)
	}
	return l, nil
}

// goLoader is the fallback when wrk cannot be installed (smoke runs only): the same traffic —
// conns keep-alive connections, a random key per request — from Go's HTTP client. It costs more
// CPU than wrk, so its numbers are for "does it work", not for comparison with published figures.
type goLoader struct {
	keys  []string
	conns int
}

func (g *goLoader) name() string {
	return fmt.Sprintf("built-in Go loader -c%d (wrk unavailable)", g.conns)
}

func (g *goLoader) run(ctx context.Context, s *system, d time.Duration) (load, error) {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: g.conns,
		MaxConnsPerHost:     g.conns,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	var requests, non2xx, sockErrs atomic.Int64
	lat := make([][]time.Duration, g.conns)
	before := selfTicks()
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for i := range g.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) && ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url(), nil)
				if s.host != "" {
					req.Host = s.host
				}
				req.Header.Set("X-Api-Key", g.keys[rand.IntN(len(g.keys))])
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					sockErrs.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if len(lat[i]) < 1<<20 {
					lat[i] = append(lat[i], time.Since(t0))
				}
				requests.Add(1)
				if resp.StatusCode >= 400 {
					non2xx.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	all := slices.Concat(lat...)
	slices.Sort(all)
	l := load{requests: requests.Load(), seconds: time.Since(start).Seconds(), non2xx: non2xx.Load(), sockErrs: sockErrs.Load(),
		clientTicks: selfTicks() - before}
	if n := len(all); n > 0 {
		l.p50, l.p99 = all[n*50/100], all[min(n*99/100, n-1)]
	}
	return l, ctx.Err()
}

// selfTicks is this process's own CPU time (the Go loader runs inside it).
func selfTicks() int64 {
	st, err := readStat(os.Getpid())
	if err != nil {
		return 0
	}
	return st.utime + st.stime
}
