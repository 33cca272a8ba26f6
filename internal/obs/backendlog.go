package obs

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"syscall"
)

// BackendLog logs the requests an integration failed (500, 502, 504) at warn: which API, stage,
// method and resource, the status, a fixed class of the cause and the request id the client got,
// so that an operator can match a client's report to its cause. Never the cause's text (it may
// quote the upstream URL with mapped values) nor anything of the request. Rate-limited like
// ConnLog: a backend that is down would otherwise log one line per request.
type BackendLog struct {
	log *slog.Logger
	lineBudget
}

// NewBackendLog returns a BackendLog allowing burst lines at once and rate lines a second after.
func NewBackendLog(log *slog.Logger, rate, burst float64) *BackendLog {
	return &BackendLog{log: log, lineBudget: newLineBudget(rate, burst)}
}

// BackendFailure is what BackendLog logs of one failed request.
type BackendFailure struct {
	RequestID, API, Stage, Method, Resource string
	Status                                  int
	Err                                     error
}

// Log logs one failure (or counts it, over the rate).
func (l *BackendLog) Log(f BackendFailure) {
	ok, suppressed := l.take()
	if !ok {
		return
	}
	class := ClassifyBackend(f.Err)
	if f.Status == 504 { // the gateway's own timeout: whatever error the engine saw, that is the cause
		class = BackendTimeout
	}
	attrs := []any{"status", f.Status, "class", class, "api", f.API, "stage", f.Stage,
		"method", f.Method, "resource", f.Resource, "request-id", f.RequestID}
	if suppressed > 0 {
		attrs = append(attrs, "suppressed", suppressed)
	}
	l.log.Warn("integration failed", attrs...)
}

// The classes ClassifyBackend returns.
const (
	BackendTimeout  = "backend timed out"
	BackendRefused  = "backend refused the connection"
	BackendReset    = "backend reset the connection"
	BackendDNS      = "backend host not found"
	BackendTLS      = "TLS with the backend failed"
	BackendResponse = "backend response unusable"
	BackendOther    = "backend unreachable"
)

// ClassifyBackend maps the cause of an integration failure to a fixed class.
func ClassifyBackend(err error) string {
	var ne net.Error
	var dns *net.DNSError
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var alert tls.AlertError
	switch {
	case err == nil:
		return BackendResponse
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return BackendTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return BackendRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return BackendReset
	case errors.As(err, &dns):
		return BackendDNS
	case errors.As(err, &certErr), errors.As(err, &recErr), errors.As(err, &alert):
		return BackendTLS
	case errors.As(err, &ne):
		return BackendOther
	}
	return BackendResponse
}
