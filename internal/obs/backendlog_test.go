package obs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestClassifyBackend(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, refused := net.Dial("tcp", addr)
	for _, c := range []struct {
		err  error
		want string
	}{
		{refused, BackendRefused},
		{fmt.Errorf("round trip: %w", syscall.ECONNRESET), BackendReset},
		{&net.DNSError{Err: "no such host", Name: "backend.invalid"}, BackendDNS},
		{context.DeadlineExceeded, BackendTimeout},
		{errors.New("malformed HTTP response"), BackendResponse},
		{nil, BackendResponse},
	} {
		if got := ClassifyBackend(c.err); got != c.want {
			t.Errorf("ClassifyBackend(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

// TestBackendLogRateLimited: past the burst, lines are counted, and the count rides on the next
// line once the budget refills.
func TestBackendLogRateLimited(t *testing.T) {
	var buf bytes.Buffer
	l := NewBackendLog(slog.New(slog.NewTextHandler(&buf, nil)), 1, 2)
	now := time.Unix(1000, 0)
	l.now = func() time.Time { return now }
	for range 5 {
		l.Log(BackendFailure{Status: 502, Err: syscall.ECONNREFUSED, RequestID: "r"})
	}
	if n := strings.Count(buf.String(), "integration failed"); n != 2 {
		t.Fatalf("%d lines within the burst of 2:\n%s", n, buf.String())
	}
	now = now.Add(time.Second)
	l.Log(BackendFailure{Status: 504})
	if !strings.Contains(buf.String(), "suppressed=3") || !strings.Contains(buf.String(), `class="backend timed out"`) {
		t.Fatalf("after a refill:\n%s", buf.String())
	}
}
