// Package health answers the probes operators and orchestrators send: liveness and readiness on
// the status listener (--status-addr: /healthz, /readyz), and a JSON summary on the main listener
// (GET /_tollgate/health, unauthenticated, the counterpart of LocalStack's /_localstack/health).
//
// Readiness is two facts: the first data-plane snapshot is serving, and the store answered its
// last probe. The store is probed in the background (Run), never by the probe request itself,
// so a burst of probes costs the store nothing and a hung store cannot hang a probe.
package health

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"time"
)

// Pinger is the store's cheapest round trip.
type Pinger func(ctx context.Context) error

// Status is the process's health as the probes report it.
type Status struct {
	Version   string
	StoreKind string // sqlite or postgres
	Ping      Pinger
	// Interval between store probes (default 2s); Timeout bounds one (default 1s).
	Interval, Timeout time.Duration

	start     time.Time
	serving   atomic.Bool // the first snapshot is installed
	reachable atomic.Bool // the last store probe succeeded
	probed    atomic.Bool
}

// New returns a Status started now.
func New(version, storeKind string, ping Pinger) *Status {
	return &Status{Version: version, StoreKind: storeKind, Ping: ping, start: time.Now()}
}

// Serving records that the first data-plane snapshot is installed.
func (s *Status) Serving() { s.serving.Store(true) }

// Probe pings the store once and records the outcome.
func (s *Status) Probe(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, cmpDur(s.Timeout, time.Second))
	defer cancel()
	s.reachable.Store(s.Ping(ctx) == nil)
	s.probed.Store(true)
}

// Run probes the store until ctx ends.
func (s *Status) Run(ctx context.Context) {
	t := time.NewTicker(cmpDur(s.Interval, 2*time.Second))
	defer t.Stop()
	for {
		s.Probe(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func cmpDur(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Ready reports readiness and, when not ready, why.
func (s *Status) Ready() (bool, string) {
	switch {
	case !s.serving.Load():
		return false, "the data-plane configuration is not loaded yet"
	case !s.probed.Load():
		return false, "the store has not been probed yet"
	case !s.reachable.Load():
		return false, "the store is unreachable"
	}
	return true, ""
}

// StatusHandler serves /healthz (the process answers) and /readyz (Ready), as plain text for
// probes; anything else is 404.
func (s *Status) StatusHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if ok, why := s.Ready(); !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready: " + why + "\n"))
			return
		}
		w.Write([]byte("ready\n"))
	})
	return mux
}

// Path is the main listener's health path.
const Path = "/_tollgate/health"

// report is the JSON of Path.
type report struct {
	Status        string      `json:"status"` // "running" or "degraded"
	Version       string      `json:"version"`
	Ready         bool        `json:"ready"`
	Store         storeReport `json:"store"`
	UptimeSeconds int64       `json:"uptimeSeconds"`
}

type storeReport struct {
	Kind      string `json:"kind"`
	Reachable bool   `json:"reachable"`
}

// Wrap answers GET/HEAD Path on the main listener, unauthenticated, and passes everything else
// to next (the management API).
func (s *Status) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != Path || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			next.ServeHTTP(w, r)
			return
		}
		ready, _ := s.Ready()
		rep := report{Status: "running", Version: s.Version, Ready: ready,
			Store:         storeReport{Kind: s.StoreKind, Reachable: s.reachable.Load()},
			UptimeSeconds: int64(time.Since(s.start) / time.Second)}
		if !ready {
			rep.Status = "degraded"
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(rep)
	})
}
