// Package obs holds Tollgate's observability plumbing: request ids and logging setup.
package obs

import (
	"io"
	"log/slog"
	"net/http"

	"github.com/google/uuid"
)

// RequestIDHeader is set on every response, as API Gateway does.
const RequestIDHeader = "X-Amzn-Requestid"

// WithRequestID sets x-amzn-RequestId on every response before the handler runs, so error paths
// carry it too.
func WithRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(RequestIDHeader, uuid.NewString())
		next.ServeHTTP(w, r)
	})
}

// NewLogger returns a logger at the given level ("debug", "info", "warn", "error") writing text
// (key=value) lines, or JSON objects when format is "json".
func NewLogger(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
