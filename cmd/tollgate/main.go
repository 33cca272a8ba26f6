// Command tollgate is a self-hostable API gateway that speaks Amazon API Gateway's management API
// (API keys, usage plans, REST APIs) so the AWS CLI, SDKs and Terraform drive it unchanged.
//
//	tollgate serve         start the server (embedded SQLite store under --data-dir)
//	tollgate check-config  validate flags and environment without starting anything
//	tollgate version       print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/config"
	"github.com/tollgate/tollgate/internal/control"
	"github.com/tollgate/tollgate/internal/mgmt"
	"github.com/tollgate/tollgate/internal/obs"
	"github.com/tollgate/tollgate/internal/sigv4"
	"github.com/tollgate/tollgate/internal/store/sqlite"
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise the module version.
var version = ""

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
		fmt.Fprintln(stdout, "tollgate", versionString())
		return 0
	case "check-config":
		cfg, err := config.Load(args[0], args[1:], getenv, stderr)
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if err != nil {
			fmt.Fprintln(stderr, "tollgate: invalid configuration:", err)
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
		log := obs.NewLogger(stderr, cfg.LogLevel)
		slog.SetDefault(log)
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := serve(ctx, cfg, log); err != nil {
			log.Error("tollgate stopped", "err", err)
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
  version        print the version

Run "tollgate serve -h" for the flags; each also reads TOLLGATE_<NAME> from the environment.
`)
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

// serve runs the server until ctx ends, then shuts down gracefully: in-flight requests finish and
// the store is closed cleanly.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	if cfg.DefaultCredentials {
		log.Warn("no management credentials configured: accepting access key id 'test' with secret 'test' (loopback only); set TOLLGATE_ACCESS_KEY_ID and TOLLGATE_SECRET_ACCESS_KEY")
	}
	if cfg.InsecureSkipAuth {
		log.Warn("INSECURE: --insecure-skip-auth is on; any well-formed signature is accepted")
	}
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "tollgate.db"))
	if err != nil {
		return fmt.Errorf("opening store: %w", err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("closing store", "err", err)
		}
	}()
	svc := control.New(st, control.Config{
		AccountID:       cfg.AccountID,
		AccountThrottle: apigw.Throttle{BurstLimit: cfg.AccountBurstLimit, RateLimit: cfg.AccountRateLimit},
	}, nil)
	auth := sigv4.New(sigv4.Config{
		Credentials: map[string]string{cfg.AccessKeyID: cfg.SecretAccessKey},
		Service:     "apigateway",
		MaxSkew:     cfg.MaxSkew,
		Insecure:    cfg.InsecureSkipAuth,
	})
	handler := obs.WithRequestID(mgmt.New(svc, auth))

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute, // large imports
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("tollgate listening", "addr", ln.Addr().String(), "data-dir", cfg.DataDir, "region", cfg.Region, "version", versionString())

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: waiting for in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped cleanly")
	return nil
}
