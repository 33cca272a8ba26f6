// Command tollgate is a self-hostable API gateway that speaks Amazon API Gateway's management API
// (API keys, usage plans, REST APIs) so the AWS CLI, SDKs and Terraform drive it unchanged.
//
//	tollgate serve         start the server (embedded SQLite store under --data-dir)
//	tollgate check-config  validate flags and environment without starting anything
//	tollgate version       print the version
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"github.com/tollgate/tollgate/internal/authorizer"
	"github.com/tollgate/tollgate/internal/console"
	"io"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/tollgate/tollgate/internal/accesslog"
	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/config"
	"github.com/tollgate/tollgate/internal/connguard"
	"github.com/tollgate/tollgate/internal/control"
	"github.com/tollgate/tollgate/internal/credentials"
	"github.com/tollgate/tollgate/internal/dataplane"
	"github.com/tollgate/tollgate/internal/dataplane/fastengine"
	"github.com/tollgate/tollgate/internal/dataplane/loopengine"
	"github.com/tollgate/tollgate/internal/gateway"
	"github.com/tollgate/tollgate/internal/gcwindow"
	"github.com/tollgate/tollgate/internal/health"
	"github.com/tollgate/tollgate/internal/meter"
	"github.com/tollgate/tollgate/internal/metrics"
	"github.com/tollgate/tollgate/internal/mgmt"
	"github.com/tollgate/tollgate/internal/obs"
	"github.com/tollgate/tollgate/internal/quota"
	"github.com/tollgate/tollgate/internal/quota/quotastore"
	"github.com/tollgate/tollgate/internal/reqstats"
	"github.com/tollgate/tollgate/internal/residency"
	"github.com/tollgate/tollgate/internal/sigv4"
	"github.com/tollgate/tollgate/internal/snapshot"
	"github.com/tollgate/tollgate/internal/store"
	"github.com/tollgate/tollgate/internal/tlsconf"
)

// version and commit are set by a release build with
// -ldflags "-X main.version=v1.2.3 -X main.commit=$(git rev-parse HEAD)"; otherwise they come
// from the build information Go records (the module version, the VCS revision).
var (
	version = ""
	commit  = ""
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "tollgate %s (commit %s, %s)\n", versionString(), commitString(), runtime.Version())
		return 0
	case "healthcheck":
		return healthcheck(args[1:], getenv, stderr)
	case "check-config":
		cfg, err := config.Load(args[0], args[1:], getenv, stderr)
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if err != nil {
			fmt.Fprintln(stderr, "tollgate: invalid configuration:", err)
			return 1
		}
		errs, warnings := checkEnvironment(context.Background(), cfg)
		for _, w := range warnings {
			fmt.Fprintln(stderr, "tollgate: warning:", w)
		}
		if len(errs) > 0 {
			fmt.Fprintln(stderr, "tollgate: invalid configuration:", errors.Join(errs...))
			return 1
		}
		fmt.Fprintf(stdout, "configuration OK: addr=%s data-dir=%s region=%s account-id=%s\n", cfg.Addr, cfg.DataDir, cfg.Region, cfg.AccountID)
		return 0
	case "serve":
		cfg, err := config.Load(args[0], args[1:], getenv, stderr)
		if err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			fmt.Fprintln(stderr, "tollgate: invalid configuration:", err)
			return 1
		}
		if cfg.DebugAddr == "" {
			// Nobody can read a heap profile: stop sampling allocations for one. Each sample
			// unwinds its stack through the function tables, which brings their pages back into
			// the resident set (see internal/residency), and the profile's bucket table is
			// 1.4 MB of its own.
			runtime.MemProfileRate = 0
		}
		log := obs.NewLogger(stderr, cfg.LogLevel, cfg.LogFormat)
		slog.SetDefault(log)
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := serve(ctx, cfg, log, runtimeEnv{gogc: getenv("GOGC") != "", gomaxprocs: getenv("GOMAXPROCS") != ""}); err != nil {
			log.Error("tollgate stopped", "err", err)
			return 1
		}
		return 0
	case "rotate-master-key":
		cfg, err := config.Load(args[0], args[1:], getenv, stderr)
		if err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			fmt.Fprintln(stderr, "tollgate: invalid configuration:", err)
			return 1
		}
		log := obs.NewLogger(stderr, cfg.LogLevel, cfg.LogFormat)
		if err := rotateMasterKey(context.Background(), cfg, log); err != nil {
			fmt.Fprintln(stderr, "tollgate: rotate-master-key:", err)
			return 1
		}
		return 0
	case "backup", "restore":
		f := backupCmd
		if args[0] == "restore" {
			f = restoreCmd
		}
		if err := f(context.Background(), args[1:], getenv, stdout, stderr); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			fmt.Fprintf(stderr, "tollgate: %s: %v\n", args[0], err)
			return 1
		}
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "tollgate: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: tollgate <command> [flags]

Commands:
  serve          start the server (management API + data plane)
  check-config   validate flags and environment, then exit
  rotate-master-key
                 re-encrypt every stored API key value under a new master key
                 (server stopped; same flags as serve)
  backup --out FILE
                 copy the embedded store while the server runs (consistent, online)
  restore --from FILE
                 put a backup in place of a stopped node's store
  healthcheck [--url URL]
                 exit 0 if the status listener's /healthz answers 200 (for a
                 container HEALTHCHECK; default from TOLLGATE_STATUS_ADDR or :9180)
  version        print the version and commit

Run "tollgate serve -h" for the flags; each also reads TOLLGATE_<NAME> from the environment.
`)
}

// commitString is the VCS revision the binary was built from ("unknown" outside a checkout),
// marked "-dirty" when the tree had local changes.
func commitString() string {
	if commit != "" {
		return commit
	}
	rev, dirty := "unknown", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// runtimeEnv says which of the Go runtime's settings the operator chose in the environment:
// Tollgate tunes only the others.
type runtimeEnv struct {
	gogc, gomaxprocs bool
}

// serve runs the server until ctx ends, then shuts down gracefully: in-flight requests finish,
// usage counts are flushed, unused quota leases are returned and the store is closed cleanly.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger, env runtimeEnv) error {
	if cfg.DefaultCredentials {
		log.Warn("no management credentials configured: accepting access key id 'test' with secret 'test' (loopback only); set TOLLGATE_ACCESS_KEY_ID and TOLLGATE_SECRET_ACCESS_KEY")
	}
	if cfg.InsecureSkipAuth {
		log.Warn("INSECURE: --insecure-skip-auth is on; any well-formed signature is accepted")
	}
	// Start-up phases, logged with the listening line: where a slow start goes (a large store's
	// load, a usage journal left with counts to flush) is the first thing an operator asks.
	var startup startupTimes
	phase := startup.begin()
	st, release, err := openStore(ctx, cfg, nil, log)
	if err != nil {
		return fmt.Errorf("opening store: %w", err)
	}
	startup.store = phase()
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("closing store", "err", err)
		}
		release()
	}()
	// Probes: the status listener starts before the configuration loads, so that /readyz
	// answers 503 (not a refused connection) while a large store is read.
	connLog := obs.NewConnLog(log, 10, 20)
	storeKind, _, _ := cfg.StoreBackend()
	stats := reqstats.NewRegistry()
	src := metrics.Sources{Requests: stats}
	mets := metrics.New(versionString(), string(storeKind), &src)
	status := health.New(versionString(), storeKind, func(ctx context.Context) error {
		_, err := st.Regions(ctx)
		if err != nil {
			mets.StoreError("probe")
		}
		return err
	})
	probeCtx, stopProbe := context.WithCancel(context.Background())
	defer stopProbe()
	status.Probe(probeCtx) // the first answer is known before any listener opens
	go status.Run(probeCtx)
	if cfg.StatusAddr != "" {
		ln, err := net.Listen("tcp", cfg.StatusAddr)
		if err != nil {
			return fmt.Errorf("--status-addr: %w", err)
		}
		statusSrv := newServer(statusHandler(status.StatusHandler(), mets.Handler()), connLog)
		go statusSrv.Serve(ln)
		defer statusSrv.Close()
		log.Info("tollgate status listening", "status-addr", ln.Addr().String())
	}
	creds, err := loadCredentials(cfg, log)
	if err != nil {
		return err
	}
	var certs *tlsconf.Certs
	if cfg.TLSCertFile != "" {
		if certs, err = tlsconf.Load(cfg.TLSCertFile, cfg.TLSKeyFile); err != nil {
			return err
		}
		src.TLSNotAfter = certs.NotAfter
	}
	var accessLog *accesslog.Writer
	if cfg.AccessLog != "" {
		if accessLog, err = accesslog.Open(cfg.AccessLog); err != nil {
			return fmt.Errorf("--access-log: %w", err)
		}
		defer accessLog.Close()
		src.AccessLog = func() (uint64, uint64) { return accessLog.Written(), accessLog.Dropped() }
	}
	go reloadOnHangup(ctx, log, hangupReloader{"credentials", creds.Reload}, hangupReloader{"TLS certificate", certs.ReloadFunc()}, hangupReloader{"access log", accessLog.ReopenFunc()})
	invoke := invokeVerifier{sigv4.New(sigv4.Config{
		Lookup:   func(id string) (string, bool) { return creds.Lookup(id, credentials.Invoke) },
		Service:  "execute-api",
		MaxSkew:  cfg.MaxSkew,
		Insecure: cfg.InsecureSkipAuth,
	})}
	accountThrottle := apigw.Throttle{BurstLimit: cfg.AccountBurstLimit, RateLimit: cfg.AccountRateLimit}

	// Data plane: counters that outlive snapshots, the handler, and the syncer that feeds it.
	quotas := quota.New(quotastore.Ledger(st), quota.Options{Deadline: cfg.StoreDeadline, IdleRelease: idleRelease(cfg), Recheck: recheck(cfg),
		OnError: func(err error) { log.Warn("quota lease", "err", err) }})
	phase = startup.begin()
	usage, err := openMeter(ctx, cfg, st, log, meter.Options{Interval: cfg.FlushInterval, OnError: func(err error) {
		mets.StoreError("usage_flush")
		log.Warn("usage flush", "err", err)
	}})
	if err != nil {
		return err
	}
	startup.journal = phase()
	defer usage.Close() // after the final Flush below
	src.QuotaLeases = func() (uint64, uint64, uint64, uint64) {
		s := quotas.Stats()
		return s.Granted, s.Returned, s.Waits, s.Errors
	}
	src.UsageFlushAge = func() time.Duration { return time.Since(usage.FlushedAt()) }
	lim, stopLimiter, err := openLimiter(ctx, cfg, st, log, func() { mets.StoreError("heartbeat") })
	if err != nil {
		return fmt.Errorf("throttle counters: %w", err)
	}
	defer stopLimiter(context.Background())
	if rl, ok := lim.(interface{ Failures() uint64 }); ok {
		src.RedisErrors = rl.Failures
	}
	backendLog := obs.NewBackendLog(log, 10, 20)
	lambda := lambdaClient(cfg)
	authorizerLog := obs.NewAuthorizerLog(log, 10, 20)
	authorizers := &dataplane.Authorizers{Lambda: lambda, AccountID: cfg.AccountID,
		Cognito: &authorizer.Cognito{Endpoint: cfg.CognitoEndpoint, Client: &http.Client{Transport: dataplane.NewTransport()}},
		OnFailure: func(f dataplane.AuthorizerFailure) {
			of := obs.AuthorizerFailure{RequestID: f.RequestID, Class: f.Class}
			if m := f.Method; m != nil {
				of.Method, of.Resource = m.Verb, m.ResourcePath
				if m.Authorizer != nil {
					of.Authorizer = m.Authorizer.ID
				}
				if m.Stage != nil {
					of.Stage = m.Stage.Name
					if m.Stage.API != nil {
						of.API = m.Stage.API.ID
					}
				}
			}
			authorizerLog.Log(of)
		}}
	authCache := authorizer.NewCache(nil)
	dp := dataplane.NewCore(dataplane.Options{
		Enforcer:         &dataplane.Enforcer{Limiter: lim, FailOpen: cfg.QuotaFailOpen, IAM: invoke, Authorizers: authorizers},
		RateLimitHeaders: cfg.RateLimitHeaders,
		Stats:            stats,
		AccessLog:        accessLog,
		AccountID:        cfg.AccountID,
		Lambda:           lambda,
		OnBackendFailure: func(f dataplane.BackendFailure) {
			of := obs.BackendFailure{RequestID: f.RequestID, Status: f.Status, Err: f.Err}
			if m := f.Method; m != nil {
				of.Method, of.Resource = m.Verb, m.ResourcePath
				if m.Stage != nil {
					of.Stage = m.Stage.Name
					if m.Stage.API != nil {
						of.API = m.Stage.API.ID
					}
				}
			}
			backendLog.Log(of)
		},
	})
	syncer := &gateway.Syncer{Store: st, Counters: st, Throttle: accountThrottle, Target: dp,
		OnSwap:  mets.ObserveSnapshot,
		OnError: func(error) { mets.StoreError("snapshot") },
		Binder: snapshot.Binder{
			States:     snapshot.NewKeyStates(),
			Stats:      stats,
			QuotaEntry: quotas.Entry,
			Meter:      usage,
			Bucket:     bucketBinder(lim),
			// Authorizer results outlive snapshots: a management write must not flush them.
			AuthorizerCache: authCache,
		}}
	phase = startup.begin()
	if err := syncer.Rebuild(ctx); err != nil {
		return fmt.Errorf("loading the data-plane configuration: %w", err)
	}
	startup.load = phase()
	if !env.gogc {
		// After the first load, which allocates the whole snapshot at once: under the tighter
		// setting a million keys took 0.2–0.3 s longer to load.
		debug.SetGCPercent(gcPercent)
		gcwindow.AllowLooser(gcWindowPercent)
	}
	status.Serving()
	if n := dp.Snapshot().AccessLogStages(); n > 0 && accessLog == nil {
		log.Warn("stages have an access-log format but --access-log is not set: their lines are not written", "stages", n)
	}
	bg, stopBG := context.WithCancel(context.Background())
	defer stopBG()
	go syncer.Run(bg)
	go usage.Run(bg)

	// Management plane.
	svc := control.New(st, control.Config{AccountID: cfg.AccountID, AccountThrottle: accountThrottle,
		MaxResourcesPerAPI: cfg.MaxResourcesPerAPI}, nil)
	svc.SetUsage(control.UsageBackend{Counters: st, Flush: usage.Flush})
	auth := sigv4.New(sigv4.Config{
		Lookup:   func(id string) (string, bool) { return creds.Lookup(id, credentials.Management) },
		Service:  "apigateway",
		MaxSkew:  cfg.MaxSkew,
		Insecure: cfg.InsecureSkipAuth,
	})
	api := mgmt.New(svc, auth)
	api.Authorizers = authorizers
	api.AfterWrite = syncer.Sync
	if cfg.AllowReset {
		log.Warn("--allow-reset is on: POST /_tollgate/reset wipes all state")
		api.Reset = func(ctx context.Context) error {
			usage.Discard()
			if err := st.Update(ctx, cfg.Region, func(tx store.Tx) error {
				r, ok := tx.(interface{ ResetAll() error })
				if !ok {
					return errors.New("this store cannot reset")
				}
				return r.ResetAll()
			}); err != nil {
				return err
			}
			// Counts of the old keys made meanwhile must not reach the emptied store.
			usage.Discard()
			return syncer.Rebuild(ctx)
		}
	}

	var mainHandler http.Handler = status.Wrap(api)
	var consoleSrv *console.Server
	if cfg.Console {
		consoleSrv = console.New(console.Options{API: api, Region: cfg.Region, Stats: stats, TLS: certs != nil, Log: log})
		defer consoleSrv.Close()
		if cfg.ConsoleAddr == "" {
			mainHandler = consoleSrv.Wrap(mainHandler)
		}
	}
	servers, addrs := listeners(cfg, dp, mainHandler, log, connLog, certs != nil, &src, !env.gomaxprocs)
	if consoleSrv != nil && cfg.ConsoleAddr != "" {
		cs := newServer(obs.WithRequestID(consoleSrv.Wrap(http.NotFoundHandler())), connLog)
		if certs != nil {
			cs.Handler, cs.ConnContext = tlsconf.WithTLSState(cs.Handler), tlsconf.ConnContext
		}
		servers, addrs = append(servers, cs), append(addrs, cfg.ConsoleAddr)
	}
	if cfg.DebugAddr != "" {
		servers, addrs = append(servers, newServer(debugHandler(), connLog)), append(addrs, cfg.DebugAddr)
	}
	errc := make(chan error, len(servers))
	for i, srv := range servers {
		ln, err := net.Listen("tcp", addrs[i])
		if err != nil {
			return err
		}
		if addrs[i] != cfg.DebugAddr {
			if certs != nil {
				// TLS first, then the guard: it reads the decrypted request heads.
				ln = tls.NewListener(ln, certs.Config())
			}
			// Request heads with bare LFs get 400 at once on either engine (internal/connguard).
			ln = &connguard.Listener{Listener: ln, OnRefuse: func(remote net.Addr) { connLog.Log("bare LF in request head", remote, "") }}
		}
		go func() { errc <- srv.Serve(ln) }()
		if r, ok := srv.(interface{ Ready() <-chan struct{} }); ok {
			<-r.Ready() // the event loops bind the address again: serving once they have
		}
		switch {
		case i == 0:
			log.Info("tollgate listening", "addr", ln.Addr().String(), "tls", certs != nil, "data-dir", cfg.DataDir, "region", cfg.Region, "engine", cfg.Engine, "version", versionString(),
				"started-in", startup.total(), "store-open", startup.store, "usage-journal", startup.journal, "load", startup.load)
		case addrs[i] == cfg.DebugAddr:
			log.Info("tollgate profiler listening", "debug-addr", ln.Addr().String())
		case addrs[i] == cfg.ConsoleAddr:
			log.Info("tollgate console listening", "console-addr", ln.Addr().String(), "path", console.Prefix)
		default:
			log.Info("tollgate data plane listening", "gateway-addr", ln.Addr().String())
		}
	}
	// Start-up is over: the code and tables only it ran through leave the resident set
	// (internal/residency; 27 of 61 MB at 10,000 keys were the binary's pages).
	if n, err := residency.Release(); err != nil {
		log.Debug("start-up pages of the executable kept", "err", err)
	} else {
		log.Debug("start-up pages of the executable released", "bytes", n)
	}

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: waiting for in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	for _, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
		}
	}
	stopBG()
	if err := usage.Flush(shutdownCtx); err != nil {
		errs = append(errs, fmt.Errorf("flushing usage: %w", err))
	}
	if err := quotas.Close(shutdownCtx); err != nil {
		errs = append(errs, fmt.Errorf("returning quota leases: %w", err))
	}
	if len(errs) == 0 {
		log.Info("stopped cleanly")
	}
	return errors.Join(errs...)
}

// startupTimes are the durations of the start-up phases: opening the store (and migrating it),
// opening the usage journal (flushing what a previous process left in it), and loading the
// data plane's configuration (a full build).
type startupTimes struct {
	start                time.Time
	store, journal, load time.Duration
}

// begin starts timing a phase and returns the function that ends it.
func (s *startupTimes) begin() func() time.Duration {
	t := time.Now()
	if s.start.IsZero() {
		s.start = t
	}
	return func() time.Duration { return time.Since(t).Round(time.Millisecond) }
}

// total is the time since the first phase began.
func (s *startupTimes) total() time.Duration { return time.Since(s.start).Round(time.Millisecond) }

// gcPercent is the collector's headroom once serving, when GOGC is not set: the heap may grow by
// a quarter of its live size between collections instead of Go's default doubling. The data
// plane allocates nothing per request, so collections come only from management work and usage
// flushes. Measured with bench at 10,000 keys under load (gnet engine, two A/B runs with the
// builds' order swapped): RSS 48.5 and 49.2 MB against 51.7 and 51.1 with GOGC=50, CPU per
// request 33.5 against 32.2 and 34.0 against 34.1 µs. When the data
// plane still allocated per request, GOGC=50 took RSS from 85.4 to 74.7 MB at the same CPU and
// GOGC=25 cost 5% more CPU; it no longer does. Bulk work (imports, large builds) runs in a
// gcwindow, which may loosen this up to gcWindowPercent on a small heap, where a quarter is a
// few megabytes and an import would collect every few of them.
const (
	gcPercent       = 25
	gcWindowPercent = 50
)

// idleRelease is how long a key's unused quota lease stays with this node while the key is not
// called. Nodes sharing PostgreSQL give leases back soon (10 s), so that the last requests of an
// allowance are not stranded on a quiet node. An embedded (SQLite) store has no other node to
// give them to: returning them only makes the key's next request wait for a durable write
// again, so they are kept for 5 minutes, which still bounds what a kill -9 strands to the keys
// called in that time.
func idleRelease(cfg config.Config) time.Duration {
	if backend, _, _ := cfg.StoreBackend(); backend == config.StoreSQLite {
		return 5 * time.Minute
	}
	return 10 * time.Second
}

// recheck is how often a key whose quota is spent asks the ledger again. Only leases another
// node gives back can make it admissible before the period ends (UpdateUsage and plan changes
// reach it as a new policy), so nodes sharing PostgreSQL ask every second, and an embedded
// store, with no other node, never: a spent key's 429s then cost no store write at all.
func recheck(cfg config.Config) time.Duration {
	if backend, _, _ := cfg.StoreBackend(); backend == config.StoreSQLite {
		return -1
	}
	return 0 // the default, a second
}

// spareProcessor gives the Go scheduler one processor (P) more than the event loops (loops)
// that run on them. A loop spends its idle moments blocked in epoll_wait, a system call; when no P
// is idle, the runtime's monitor (sysmon) takes the P from a thread that has sat in a system
// call for 20 µs or more and starts another thread to run it, and the loop, woken by its next
// packet, must then get a P back: thread wake-ups through futexes and context switches, for
// every idle moment, while sysmon itself keeps waking every 20 µs. With one P idle, sysmon leaves
// a P in a system call alone for 10 ms, and backs off to sleeping 10 ms itself. Measured with
// bench at 10,000 keys on 2 cores, in the same runs: 5–8% less CPU per request (34.6 against
// 37.7 µs; 33.6 against 35.3 µs), 1.05–1.06× the requests/s, sched system calls 0.19 → 0.11 a
// request. The extra P costs nothing while idle: the loops still use one core each.
func spareProcessor(loops int) {
	runtime.GOMAXPROCS(loops + 1)
}

// server is a listener's server: net/http's, or the fasthttp or event-loop engine's.
type server interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
}

// listeners builds the main listener's server (data plane and management API) and, with
// --gateway-addr, a data-plane-only one, on the configured engine. The management API is
// net/http on either engine: with fasthttp, non-invocation requests are handed to it.
//
// With the event loops and GOMAXPROCS unset (tuneProcs), the runtime gets one processor more
// than there are loops: see spareProcessor.
func listeners(cfg config.Config, dp *dataplane.Core, api http.Handler, log *slog.Logger, connLog *obs.ConnLog, tlsOn bool, src *metrics.Sources, tuneProcs bool) ([]server, []string) {
	addrs := []string{cfg.Addr}
	if cfg.GatewayAddr != "" {
		addrs = append(addrs, cfg.GatewayAddr)
	}
	if cfg.Engine == "gnet" {
		loops := runtime.GOMAXPROCS(0)
		if tuneProcs {
			spareProcessor(loops)
		}
		fe := fastengine.New(dp, fastengine.Options{Log: log, ConnLog: connLog})
		le := loopengine.New(dp, loopengine.Options{Log: log, ConnLog: connLog, Fast: fe, Loops: loops,
			OffLoop: cfg.Counters != ""}) // a Redis limiter answers over the network: no loop may wait for it
		src.EventLoops = func() (map[string]uint64, uint64) {
			st := le.Stats()
			m := make(map[string]uint64, len(st.Handoffs))
			for r, n := range st.Handoffs {
				m[loopengine.Reason(r).String()] = n
			}
			return m, st.Relays
		}
		servers := []server{le.NewServer(obs.WithRequestID(api))}
		if cfg.GatewayAddr != "" {
			servers = append(servers, le.NewServer(nil))
		}
		return servers, addrs
	}
	if cfg.Engine == "fasthttp" {
		fe := fastengine.New(dp, fastengine.Options{Log: log, ConnLog: connLog})
		servers := []server{fe.NewServer(obs.WithRequestID(api))}
		if cfg.GatewayAddr != "" {
			servers = append(servers, fe.NewServer(nil))
		}
		return servers, addrs
	}
	h := dataplane.NewNetHTTP(dp, nil)
	both, gw := newServer(obs.WithRequestID(route(h, api)), connLog), newServer(obs.WithRequestID(h), connLog)
	if tlsOn {
		// The connections are TLS inside the bare-LF guard: tell handlers so (r.TLS).
		both.Handler, both.ConnContext = tlsconf.WithTLSState(both.Handler), tlsconf.ConnContext
		gw.Handler, gw.ConnContext = tlsconf.WithTLSState(gw.Handler), tlsconf.ConnContext
	}
	servers := []server{both}
	if cfg.GatewayAddr != "" {
		servers = append(servers, gw)
	}
	return servers, addrs
}

// lambdaClient is the data plane's way to the Lambda Invoke API (nil without --lambda-endpoint).
func lambdaClient(cfg config.Config) *dataplane.Lambda {
	if cfg.LambdaEndpoint == "" {
		return nil
	}
	return &dataplane.Lambda{Endpoint: cfg.LambdaEndpoint,
		Credentials: aws.Credentials{AccessKeyID: cfg.LambdaAccessKeyID, SecretAccessKey: cfg.LambdaSecretAccessKey, SessionToken: cfg.LambdaSessionToken},
		Client:      &http.Client{Transport: dataplane.NewTransport()}}
}

// statusHandler serves /metrics beside the probes of the status listener.
func statusHandler(probes, metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics)
	mux.Handle("/", probes)
	return mux
}

// debugHandler serves Go's profiler, on its own mux so nothing of it reaches the public listeners.
func debugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// route sends invocations (execute-api hosts and the LocalStack path forms) to the data plane and
// everything else to the management API.
func route(dp, api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if dataplane.IsDataPlane(r.Host, r.URL.EscapedPath()) {
			dp.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// newServer is a net/http server whose own error lines (TLS handshakes, bad connections) go to
// the ConnLog as classes: never their text, and rate-limited.
func newServer(h http.Handler, connLog *obs.ConnLog) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute, // large imports and uploads
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10, // as the fasthttp engine's (net/http allows 4 KB more)
		ErrorLog:          stdlog.New(connLog.Writer(), "", 0),
	}
}
