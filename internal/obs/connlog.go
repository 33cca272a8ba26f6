package obs

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"
)

// ConnLog logs errors of connections and malformed requests, which arrive before any
// authentication: it never logs their text (an HTTP library's parse error quotes the request,
// x-api-key and Authorization included), only a fixed class, the remote address and the request
// id, and it is rate-limited, so unauthenticated garbage cannot flood the log. Lines over the
// limit are counted and the count rides on the next line logged.
type ConnLog struct {
	log *slog.Logger
	lineBudget
}

// lineBudget is a token bucket of log lines: burst at once, rate a second after that; the lines
// it refuses are counted for the next line that gets through.
type lineBudget struct {
	rate  float64 // lines per second
	burst float64

	mu         sync.Mutex
	tokens     float64
	last       time.Time
	suppressed int
	now        func() time.Time
}

func newLineBudget(rate, burst float64) lineBudget {
	return lineBudget{rate: rate, burst: burst, tokens: burst, now: time.Now}
}

// take spends a line: ok says whether it may be logged, suppressed how many were not since.
func (b *lineBudget) take() (ok bool, suppressed int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		b.suppressed++
		return false, 0
	}
	b.tokens--
	suppressed = b.suppressed
	b.suppressed = 0
	return true, suppressed
}

// NewConnLog returns a ConnLog allowing burst lines at once and rate lines a second after that.
func NewConnLog(log *slog.Logger, rate, burst float64) *ConnLog {
	return &ConnLog{log: log, lineBudget: newLineBudget(rate, burst)}
}

// Log logs one error of class (a fixed text, see Classify) from remote, with the request id
// answered to the client ("" when none was).
func (c *ConnLog) Log(class string, remote net.Addr, requestID string) {
	ok, suppressed := c.take()
	if !ok {
		return
	}
	attrs := []any{"class", class}
	if remote != nil {
		attrs = append(attrs, "remote", remote.String())
	}
	if requestID != "" {
		attrs = append(attrs, "request-id", requestID)
	}
	if suppressed > 0 {
		attrs = append(attrs, "suppressed", suppressed)
	}
	c.log.Warn("refused a malformed request or connection", attrs...)
}

// The classes Classify returns.
const (
	ClassBadHeaders   = "malformed request line or headers"
	ClassLargeHeaders = "request headers too large"
	ClassBadBody      = "malformed request body"
	ClassLargeBody    = "request body too large"
	ClassTimeout      = "timeout"
	ClassTLS          = "TLS handshake failed"
	ClassConnection   = "connection error"
)

// Classify maps an error of the HTTP library to one of a few fixed classes, so that its text, which
// may quote the request, is never logged.
func Classify(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ClassTimeout
	}
	s := err.Error()
	switch {
	case strings.Contains(s, "small read buffer"), strings.Contains(s, "too big request header"),
		strings.Contains(s, "header too large"):
		return ClassLargeHeaders
	case strings.Contains(s, "body size exceeds"), strings.Contains(s, "body too large"):
		return ClassLargeBody
	case strings.Contains(s, "reading request headers"), strings.Contains(s, "request line"),
		strings.Contains(s, "cannot find http request method"), strings.Contains(s, "malformed"):
		return ClassBadHeaders
	case strings.Contains(s, "request body"), strings.Contains(s, "chunk"):
		return ClassBadBody
	case strings.Contains(s, "tls"), strings.Contains(s, "TLS"):
		return ClassTLS
	case strings.Contains(s, "timeout"):
		return ClassTimeout
	}
	return ClassConnection
}

// Writer adapts a ConnLog to an io.Writer for a library that logs text lines about connections
// (net/http's ErrorLog): each line is logged as its class, never as its text.
func (c *ConnLog) Writer() io.Writer { return &connWriter{c} }

type connWriter struct{ c *ConnLog }

func (w *connWriter) Write(p []byte) (int, error) {
	w.c.Log(Classify(errors.New(string(p))), nil, "")
	return len(p), nil
}
