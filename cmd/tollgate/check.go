package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tollgate/tollgate/internal/config"
	"github.com/tollgate/tollgate/internal/seal"
	"github.com/tollgate/tollgate/internal/tlsconf"
)

// checkEnvironment is what check-config verifies beyond the configuration itself, without
// starting anything: what would make serve fail at once (an unwritable data directory, an
// unreadable master key file) is an error; what serve survives (Redis down: --counters-failure
// applies) is a warning.
func checkEnvironment(ctx context.Context, cfg config.Config) (errs []error, warnings []string) {
	kind, target, _ := cfg.StoreBackend()
	if kind == config.StoreSQLite {
		if err := writableDir(filepath.Dir(target)); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.MasterKeyFile != "" {
		if _, err := seal.Load(cfg.MasterKeyFile); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.TLSCertFile != "" {
		if _, err := tlsconf.Load(cfg.TLSCertFile, cfg.TLSKeyFile); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.AccessLog != "" && cfg.AccessLog != "-" {
		if err := writableDir(filepath.Dir(cfg.AccessLog)); err != nil {
			errs = append(errs, fmt.Errorf("--access-log %s: %v", cfg.AccessLog, err))
		}
	}
	if cfg.Counters != "" {
		if opt, err := redis.ParseURL(cfg.Counters); err != nil {
			errs = append(errs, fmt.Errorf("--counters: %v", err))
		} else {
			// One attempt, and go-redis's own pool log silenced: check-config runs once, its
			// answer is the warning below, not several retries' worth of library lines around it.
			opt.MaxRetries, opt.DialerRetries = -1, 1
			redis.SetLogger(quietRedis{})
			rdb := redis.NewClient(opt)
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := rdb.Ping(pctx).Err()
			cancel()
			rdb.Close()
			if err != nil {
				// The URL may hold a password: name the address only.
				warnings = append(warnings, fmt.Sprintf("Redis at %s does not answer (%v): serve will start, and --counters-failure=%s applies until it does", opt.Addr, errClass(err), cfg.CountersFailure))
			}
		}
		if cfg.Engine == "gnet" {
			warnings = append(warnings, "--engine gnet with --counters: a loop must not wait on Redis, so every request is handed to the fasthttp engine; --engine fasthttp does the same work without the handoff")
		}
	}
	return errs, warnings
}

// writableDir checks that dir, or the nearest existing directory above it (serve creates the
// rest), accepts a new file.
func writableDir(dir string) error {
	d := dir
	for {
		st, err := os.Stat(d)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("data directory %s: %s is not a directory", dir, d)
			}
			break
		}
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("data directory %s: %v", dir, err)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return fmt.Errorf("data directory %s: no existing parent", dir)
		}
		d = parent
	}
	f, err := os.CreateTemp(d, ".tollgate-check-*")
	if err != nil {
		return fmt.Errorf("data directory %s is not writable: %v", dir, err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// quietRedis drops go-redis's internal log lines (check-config reports the outcome itself).
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// errClass shortens a connection error for a warning line.
func errClass(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	return err.Error()
}
