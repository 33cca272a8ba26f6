// Command bench measures Tollgate's data plane side by side with the references of issue 4, in
// one run on one machine, so that the ratios mean something even where absolute numbers do not:
//
//   - backend alone: a tiny Go server answering a 100-byte JSON body (the upstream of every proxy);
//   - nginx as a plain reverse proxy with upstream keep-alive (Debian's nginx) — the limit;
//   - nginx + Lua checking the key in a shared dict and counting it per second and per day
//     (libnginx-mod-http-lua) — the OpenResty class of Kong and APISIX;
//   - a bare Go httputil.ReverseProxy with a tuned Transport and no checks;
//   - Tollgate, configured through its own management API (SigV4, aws-sdk-go-v2) with an HTTP_PROXY
//     API, a usage plan whose throttle and quota never trip and 10,000 imported keys;
//   - Tollgate with a quota of one request per key per day, so nearly every answer is a 429: the
//     cost of a rejection.
//
// Each is driven by wrk (-t2 -c64 by default) with a random key of the 10,000 per request, in short
// rounds in alternating order (A B C … A B C …) so that a noisy neighbour or thermal drift hits
// every system alike; medians are reported. CPU per request comes from /proc/<pid>/stat
// (utime+stime of the system's whole process tree over the round, divided by the requests wrk
// counted), RSS from /proc/<pid>/status.
//
//	go run ./bench            full run: 3 rounds × 8 s per system (about 3–4 minutes)
//	go run ./bench -short     smoke run: one 2 s round per system (CI); skips nginx if apt cannot
//	                          install it, and falls back to a built-in Go loader without wrk
//
// Everything listens on 127.0.0.1; every process is started in its own process group and stopped
// at the end, on error and on SIGINT/SIGTERM. Missing Debian packages (nginx,
// libnginx-mod-http-lua, wrk) are installed with apt-get (root).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// systemNames are the systems in the order the rounds visit them.
var systemNames = []string{"backend", "nginx", "nginx-lua", "goproxy", "fastprobe", "gnetprobe", "nbioprobe", "tollgate", "tollgate-gnet", "tollgate-compare", "tollgate-metrics", "tollgate-accesslog", "tollgate-console", "tollgate-quota", "tollgate-gnet-quota", "tollgate-pg"}

// logw receives progress messages; the report goes to stdout.
var logw io.Writer = os.Stderr

// options are the command-line flags.
type options struct {
	short          bool
	rounds         int
	duration       time.Duration
	warmup         time.Duration
	threads, conns int
	keys           int
	only           string
	install        bool
	keep           bool
	timeout        time.Duration
	tollgateBin    string
	tollgateFlags  string
	tollgateEnv    string
	compare        string
	postgres       string
	syscalls       time.Duration
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.BoolVar(&o.short, "short", false, "smoke run: one 2 s round per system, no warm-up; nginx skipped if it cannot be installed")
	fs.BoolVar(&o.short, "smoke", false, "same as -short")
	fs.IntVar(&o.rounds, "rounds", 3, "measured rounds per system (full run)")
	fs.DurationVar(&o.duration, "duration", 8*time.Second, "length of one round (full run)")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "one warm-up run per system before the rounds (full run)")
	fs.IntVar(&o.threads, "threads", 2, "wrk threads")
	fs.IntVar(&o.conns, "connections", 64, "wrk connections")
	fs.IntVar(&o.keys, "keys", 10000, "API keys (one random key per request)")
	fs.StringVar(&o.only, "systems", "", "comma-separated subset: backend,nginx,nginx-lua,goproxy,fastprobe,gnetprobe,nbioprobe,tollgate,tollgate-gnet,tollgate-metrics,tollgate-accesslog,tollgate-console,tollgate-quota,tollgate-gnet-quota,tollgate-pg (default all but tollgate-pg, which needs -postgres)")
	fs.BoolVar(&o.install, "install", true, "install missing Debian packages with apt-get")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (configs, logs, data dirs) and print its path")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "hard limit for the whole run")
	fs.StringVar(&o.tollgateFlags, "tollgate-flags", "", "extra flags for both `tollgate serve` runs, space-separated (e.g. \"--engine nethttp\")")
	fs.StringVar(&o.tollgateEnv, "tollgate-env", "", "extra environment for both `tollgate serve` runs, space-separated NAME=VALUE (e.g. \"GOMAXPROCS=1 GOGC=400\")")
	fs.StringVar(&o.compare, "compare", "", "a second tollgate binary (e.g. built from main) measured as the system tollgate-compare beside tollgate, same configuration, same run: A/B of a change")
	fs.StringVar(&o.postgres, "postgres", "", "DSN of an EMPTY PostgreSQL database: adds the system tollgate-pg, a node on the shared store (quota leases and usage in PostgreSQL), to compare with the embedded single node in the same run")
	fs.DurationVar(&o.syscalls, "syscalls", 3*time.Second, "after the rounds, count each system's system calls per request with `perf stat` over one load this long (full run; 0: skip)")
	fs.StringVar(&o.tollgateBin, "tollgate", "", "a prebuilt tollgate binary to measure (default: build ./cmd/tollgate of this checkout), e.g. to compare two engines")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if o.short {
		o.rounds, o.duration, o.warmup, o.syscalls = 1, 2*time.Second, 0, 0
	}
	for _, name := range strings.Split(o.only, ",") {
		if name != "" && !slices.Contains(systemNames, name) {
			fmt.Fprintf(os.Stderr, "bench: -systems: unknown system %q (one of %s)\n", name, strings.Join(systemNames, ","))
			return 2
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	work, err := os.MkdirTemp("", "tollgate-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	var ps procSet
	defer func() {
		ps.stopAll()
		if o.keep {
			fmt.Fprintln(logw, "bench: work directory kept:", work)
		} else {
			os.RemoveAll(work)
		}
	}()
	if err := bench(ctx, o, &ps, work); err != nil {
		switch {
		case errors.Is(ctx.Err(), context.Canceled):
			fmt.Fprintln(os.Stderr, "bench: interrupted; stopping everything it started")
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			fmt.Fprintf(os.Stderr, "bench: FAILED: the run took longer than -timeout %s (%v)\n", o.timeout, err)
		default:
			fmt.Fprintln(os.Stderr, "bench: FAILED:", err)
		}
		return 1
	}
	return 0
}

// bench sets everything up, measures and reports. Processes are registered in ps as they start;
// the caller stops them whatever happens here.
func bench(ctx context.Context, o options, ps *procSet, work string) error {
	began := time.Now()
	want := func(name string) bool {
		return o.only == "" || slices.Contains(strings.Split(o.only, ","), name)
	}
	wantNginx := want("nginx") || want("nginx-lua")

	// Tools: in a full run every reference is required; a smoke run does with what it can get.
	tools := []tool{toolWrk}
	if wantNginx {
		tools = append(tools, toolNginx, toolLua)
	}
	have, err := ensureTools(ctx, o.install, tools...)
	if err != nil {
		if !o.short {
			return err
		}
		fmt.Fprintln(logw, "bench: (smoke run continues without them)", err)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}

	root, err := moduleRoot()
	if err != nil {
		return err
	}
	bin := filepath.Join(work, "bin")
	pkgs := []string{"./bench/backend", "./bench/goproxy", "./bench/fastprobe", "./bench/gnetprobe", "./bench/nbioprobe"}
	tollgateBin := o.tollgateBin
	if tollgateBin == "" && (want("tollgate") || want("tollgate-quota") || want("tollgate-gnet") || want("tollgate-gnet-quota") || want("tollgate-pg") || want("tollgate-metrics") || want("tollgate-accesslog") || want("tollgate-console")) {
		pkgs = append(pkgs, "./cmd/tollgate")
		tollgateBin = filepath.Join(bin, "tollgate")
	} else if tollgateBin != "" {
		if tollgateBin, err = filepath.Abs(tollgateBin); err != nil {
			return err
		}
	}
	fmt.Fprintln(logw, "bench: building", strings.Join(pkgs, " "))
	build := exec.CommandContext(ctx, "go", append([]string{"build", "-o", bin + "/"}, pkgs...)...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}

	keys := make([]string, o.keys)
	for i := range keys {
		var b [10]byte
		_, _ = rand.Read(b[:])
		keys[i] = fmt.Sprintf("bench%05d%s", i, hex.EncodeToString(b[:])) // 30 characters, as unique as random
	}
	keysFile := filepath.Join(work, "keys.txt")
	if err := os.WriteFile(keysFile, []byte(strings.Join(keys, "\n")+"\n"), 0o644); err != nil {
		return err
	}

	// The systems, in the order the rounds visit them.
	var systems []*system
	backendProc, backendAddr, err := startListener(ps, work, "backend", filepath.Join(bin, "backend"))
	if err != nil {
		return err
	}
	if want("backend") {
		systems = append(systems, &system{name: "backend", desc: "Go server alone, 100-byte JSON", addr: backendAddr, path: "/", proc: backendProc})
	}
	if have[toolNginx.pkg] && want("nginx") {
		p, addr, err := startNginx(ps, work, "nginx", backendAddr, false, "")
		if err != nil {
			return err
		}
		systems = append(systems, &system{name: "nginx", desc: "reverse proxy, upstream keep-alive", addr: addr, path: "/", proc: p})
	}
	if have[toolNginx.pkg] && have[toolLua.pkg] && want("nginx-lua") {
		p, addr, err := startNginx(ps, work, "nginx-lua", backendAddr, true, keysFile)
		if err != nil {
			return err
		}
		systems = append(systems, &system{name: "nginx-lua", desc: "key check + per-second and per-day shared-dict counters", addr: addr, path: "/", proc: p})
	}
	if want("goproxy") {
		p, addr, err := startListener(ps, work, "goproxy", filepath.Join(bin, "goproxy"), "-upstream", "http://"+backendAddr)
		if err != nil {
			return err
		}
		systems = append(systems, &system{name: "goproxy", desc: "httputil.ReverseProxy, tuned Transport, no checks", addr: addr, path: "/", proc: p})
	}
	for _, pr := range []struct{ name, desc string }{
		{"fastprobe", "fasthttp server + HostClient, key map + one counter, nothing else (issue 4's probe: the floor of a Go engine)"},
		{"gnetprobe", "gnet event loops, upstream pool on each loop, key map + one counter (issue 12's probe)"},
		{"nbioprobe", "nbio/nbhttp pollers + fasthttp HostClient, key map + one counter (issue 12's probe)"},
	} {
		if !want(pr.name) {
			continue
		}
		p, addr, err := startListener(ps, work, pr.name, filepath.Join(bin, pr.name), "-backend", backendAddr, "-keys", keysFile)
		if err != nil {
			return err
		}
		systems = append(systems, &system{name: pr.name, desc: pr.desc, addr: addr, path: "/", proc: p})
	}
	compareBin := o.compare
	if compareBin != "" {
		if compareBin, err = filepath.Abs(compareBin); err != nil {
			return err
		}
	}
	statusAddr, err := freeAddr()
	if err != nil {
		return err
	}
	for _, tg := range []struct {
		name, desc string
		setup      tollgateSetup
		rejects    bool
		extra      []string
		bin        string
	}{
		{"tollgate", "key + plan throttle + quota + metering, nothing trips", neverTrips, false, nil, tollgateBin},
		{"tollgate-gnet", "as tollgate, on the event-loop engine (--engine gnet)", neverTrips, false, []string{"--engine", "gnet"}, tollgateBin},
		{"tollgate-compare", "as tollgate, the -compare binary", neverTrips, false, nil, compareBin},
		{"tollgate-metrics", "as tollgate, with the status listener serving /metrics, scraped every second", neverTrips, false, []string{"--status-addr", statusAddr}, tollgateBin},
		{"tollgate-accesslog", "as tollgate, with --access-log to a file (a JSON line per request)", neverTrips, false, []string{"--access-log", filepath.Join(work, "access.log")}, tollgateBin},
		{"tollgate-console", "as tollgate, with --console on and nobody signed in (its overview sampler runs)", neverTrips, false, []string{"--console"}, tollgateBin},
		{"tollgate-quota", "same, quota 1/key/day: nearly every request is a 429", trips, true, nil, tollgateBin},
		{"tollgate-gnet-quota", "as tollgate-quota, on the event-loop engine", trips, true, []string{"--engine", "gnet"}, tollgateBin},
		{"tollgate-pg", "as tollgate, one node on PostgreSQL: shared quota leases and usage", neverTrips, false, []string{"--store", o.postgres}, tollgateBin},
	} {
		if !want(tg.name) || tg.name == "tollgate-pg" && o.postgres == "" || tg.name == "tollgate-compare" && compareBin == "" {
			continue
		}
		p, mgmtAddr, gwAddr, err := startTollgate(ps, work, tg.name, tg.bin, append(strings.Fields(o.tollgateFlags), tg.extra...), strings.Fields(o.tollgateEnv))
		if err != nil {
			return err
		}
		apiID, err := configureTollgate(ctx, "http://"+mgmtAddr, backendAddr, keys, tg.setup)
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", tg.name, err, p.logTail(2000))
		}
		systems = append(systems, &system{name: tg.name, desc: tg.desc, addr: gwAddr, path: "/" + stageName + "/items",
			host: apiID + ".execute-api.localhost", proc: p, rejects: tg.rejects})
		if tg.name == "tollgate-metrics" {
			go scrapeEverySecond(ctx, "http://"+statusAddr+"/metrics")
		}
	}
	if len(systems) == 0 {
		return errors.New("no system to measure")
	}
	for _, s := range systems {
		checksKeys := s.name == "nginx-lua" || strings.HasSuffix(s.name, "probe") || strings.HasPrefix(s.name, "tollgate")
		if err := checkSystem(ctx, s, keys, checksKeys); err != nil {
			return err
		}
		if strings.HasPrefix(s.name, "tollgate") {
			d, codes, err := prime(ctx, s, keys, o.conns, 3*time.Minute)
			if err != nil {
				return err
			}
			s.primed = d
			fmt.Fprintf(logw, "bench: %s: first request of each of %d keys took %s (status counts %v)\n", s.name, len(keys), d.Round(time.Millisecond), codes)
		}
	}

	var ld loader = &wrkLoader{script: filepath.Join(work, "keys.lua"), keysFile: keysFile, threads: o.threads, conns: o.conns}
	if err := os.WriteFile(filepath.Join(work, "keys.lua"), []byte(wrkScript), 0o644); err != nil {
		return err
	}
	if !have[toolWrk.pkg] {
		if !o.short {
			return errors.New("wrk is required for a full run")
		}
		ld = &goLoader{keys: keys, conns: o.conns}
	}

	setupTime := time.Since(began)
	if o.warmup > 0 {
		fmt.Fprintf(logw, "bench: warming up each system for %s\n", o.warmup)
		for _, s := range systems {
			if _, err := ld.run(ctx, s, o.warmup); err != nil {
				return err
			}
		}
	}
	loadBefore := loadavg()
	for r := 1; r <= o.rounds; r++ {
		for _, s := range systems {
			res, err := measure(ctx, ld, s, backendProc, o.duration)
			if err != nil {
				return err
			}
			s.rounds = append(s.rounds, res)
			fmt.Fprintf(logw, "bench: round %d/%d %-16s %8.0f req/s  p99 %6.2f ms  %5.1f µs/req  non-2xx %d\n",
				r, o.rounds, s.name, res.rps(), float64(res.p99)/float64(time.Millisecond), perReq(res.ticks, res.requests), res.non2xx)
		}
	}

	mode := fmt.Sprintf("%d rounds × %s per system, alternating, after a %s warm-up", o.rounds, o.duration, o.warmup)
	if o.short {
		mode = fmt.Sprintf("SMOKE run: %d round × %s per system, no warm-up — not a measurement", o.rounds, o.duration)
	}
	header := []string{
		fmt.Sprintf("Tollgate data-plane benchmark — %s, %d keys, a random key per request; %s", ld.name(), o.keys, mode),
		fmt.Sprintf("machine: %d CPUs, %s/%s, %s; load average %s before the rounds, %s after; set-up took %s, total %s",
			runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), loadBefore, loadavg(),
			setupTime.Round(time.Second), time.Since(began).Round(time.Second)),
	}
	if have[toolNginx.pkg] && wantNginx {
		header = append(header, "nginx: "+toolVersion(nginxBin, "-v"))
	}
	if tollgateBin != "" {
		from := "./cmd/tollgate at " + toolVersion("git", "-C", root, "describe", "--always", "--dirty")
		if o.tollgateBin != "" {
			from = tollgateBin
		}
		header = append(header, fmt.Sprintf("tollgate: %s, built from %s; extra flags: %q; extra environment: %q", toolVersion(tollgateBin, "version"), from, o.tollgateFlags, o.tollgateEnv))
	}
	for _, s := range systems {
		if s.primed > 0 {
			header = append(header, fmt.Sprintf("%s: the first request of each of the %d keys (quota lease) took %s in all, %d at a time, before the rounds",
				s.name, o.keys, s.primed.Round(time.Millisecond), o.conns))
		}
	}
	header = append(header, "CPU µs/req: utime+stime of the system's processes (all nginx workers) per request; "+
		"+ backend: the upstream's share; RSS: sum of VmRSS of the system's processes (memory nginx's workers share is counted in each); other load: CPU used by processes outside the benchmark during the rounds (the machine may be shared).")
	report(os.Stdout, header, systems, func(s *system) bool { return s.proc == backendProc })
	if o.syscalls > 0 {
		if _, err := exec.LookPath("perf"); err != nil {
			fmt.Fprintln(logw, "bench: perf not found: no syscall table (apt-get install linux-perf)")
		} else {
			counts := map[*system]syscallCounts{}
			for _, s := range systems {
				c, err := countSyscalls(ctx, ld, s, o.syscalls)
				if err != nil {
					fmt.Fprintln(logw, "bench: counting system calls:", err)
					break
				}
				counts[s] = c
			}
			reportSyscalls(os.Stdout, o.syscalls, systems, counts)
		}
	}

	var bad []string
	for _, s := range systems {
		m := summarize(s)
		switch {
		case m.requests == 0:
			bad = append(bad, s.name+": no requests completed")
		case !s.rejects && m.non2xx > 0:
			bad = append(bad, fmt.Sprintf("%s: %d non-2xx answers", s.name, m.non2xx))
		case s.rejects && m.non2xx == 0:
			bad = append(bad, s.name+": the quota never tripped")
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("misconfiguration: %s", strings.Join(bad, "; "))
	}
	return nil
}

// measure runs one round against s and charges it the CPU its process tree and the backend used
// in that interval.
func measure(ctx context.Context, ld loader, s *system, backend *proc, d time.Duration) (round, error) {
	before, err := treeUsage(s.proc.cmd.Process.Pid)
	if err != nil {
		return round{}, fmt.Errorf("%s: %w", s.name, err)
	}
	bBefore, _ := treeUsage(backend.cmd.Process.Pid)
	mBefore := readCPUTimes()
	l, err := ld.run(ctx, s, d)
	if err != nil {
		return round{}, err
	}
	mAfter := readCPUTimes()
	after, err := treeUsage(s.proc.cmd.Process.Pid)
	if err != nil {
		return round{}, fmt.Errorf("%s: %w\n%s", s.name, err, s.proc.logTail(2000))
	}
	bAfter, _ := treeUsage(backend.cmd.Process.Pid)
	r := round{load: l, ticks: after.ticks - before.ticks, rssKB: after.rssKB}
	ours := r.ticks + l.clientTicks
	if s.proc != backend {
		r.backendTicks = bAfter.ticks - bBefore.ticks
		ours += r.backendTicks
	}
	if l.seconds > 0 {
		r.otherPct = max(0, float64(mAfter.busy-mBefore.busy-ours)) * 100 / clockTick / l.seconds
	}
	return r, nil
}

// moduleRoot is the directory of the go.mod that `go` sees from here: bench builds ./cmd/tollgate
// of the checkout it is run from.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run bench from the Tollgate checkout (go run ./bench)")
	}
	return filepath.Dir(mod), nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// scrapeEverySecond reads /metrics once a second until ctx ends, as a Prometheus server would
// (more often than most), so that tollgate-metrics pays for its scrapes too.
func scrapeEverySecond(ctx context.Context, url string) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return
			}
			if resp, err := http.DefaultClient.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}
}
