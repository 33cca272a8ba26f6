package dataplane

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/internal/limit"
	"github.com/tollgate/tollgate/internal/snapshot"
)

// MaxPayload is API Gateway's request payload limit (10 MB).
const MaxPayload = 10 << 20

// Handler serves invocations over net/http.
type Handler struct {
	snap     atomic.Pointer[snapshot.Snapshot]
	enforcer *Enforcer
	proxy    *proxy
	now      func() time.Time
	// RateLimitHeaders adds IETF RateLimit-* headers (and Retry-After on 429s): opt-in, beyond AWS.
	rateLimitHeaders bool
}

// Options configure a Handler.
type Options struct {
	Enforcer         *Enforcer
	Transport        http.RoundTripper // nil: a tuned shared transport
	Now              func() time.Time  // nil: time.Now
	RateLimitHeaders bool
}

// NewHandler returns a data-plane handler; Swap must be called before it serves.
func NewHandler(o Options) *Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Transport == nil {
		o.Transport = NewTransport()
	}
	return &Handler{enforcer: o.Enforcer, proxy: &proxy{rt: o.Transport}, now: o.Now, rateLimitHeaders: o.RateLimitHeaders}
}

// Swap installs a new snapshot; requests already running finish on the old one.
func (h *Handler) Swap(s *snapshot.Snapshot) { h.snap.Store(s) }

// Snapshot returns the snapshot being served.
func (h *Handler) Snapshot() *snapshot.Snapshot { return h.snap.Load() }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Amz-Apigw-Id", apigwID())
	apiID, stageName, rest, _ := Resolve(r.Host, r.URL.EscapedPath())
	api := h.snap.Load().API(apiID)
	if api == nil {
		notDeployed(apiID).write(w)
		return
	}
	st := api.Stage(stageName)
	if st == nil {
		ErrForbidden.write(w)
		return
	}
	if r.ContentLength > MaxPayload {
		ErrTooLarge.write(w)
		return
	}
	v := View{Method: r.Method, Path: rest}
	if api.ApiKeySource != "AUTHORIZER" {
		v.APIKey = r.Header.Get("X-Api-Key")
	}
	now := h.now()
	var o Outcome
	h.enforcer.Check(r.Context(), st, &v, now, &o)
	if h.rateLimitHeaders && o.Throttle.Limit > 0 {
		setRateLimit(w.Header(), &o.Throttle)
	}
	if o.Err != nil {
		if h.rateLimitHeaders && o.Err.Status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", retryAfterFor(&o, now))
		}
		o.Err.write(w)
		return
	}
	in := o.Method.Integration
	if in == nil {
		ErrInternal.write(w)
		return
	}
	if r.ContentLength < 0 || r.ContentLength > 0 {
		r.Body = http.MaxBytesReader(w, r.Body, MaxPayload)
	}
	switch in.Type {
	case "MOCK":
		serveMock(w, r, in)
	case "HTTP_PROXY":
		h.proxy.serveProxy(w, r, st, &o)
	case "HTTP":
		h.proxy.serveHTTP(w, r, st, &o)
	default:
		// AWS and AWS_PROXY integrations need AWS services; Tollgate cannot call them.
		ErrInternal.write(w)
	}
}

// setRateLimit sends the IETF RateLimit fields for the key's usage-plan bucket.
func setRateLimit(h http.Header, d *limit.Decision) {
	h.Set("RateLimit-Limit", strconv.FormatInt(d.Limit, 10))
	h.Set("RateLimit-Remaining", strconv.FormatInt(max(d.Remaining, 0), 10))
	h.Set("RateLimit-Reset", strconv.FormatInt(ceilSeconds(d.Reset), 10))
}

// retryAfterFor is the Retry-After of a 429: the end of the quota period, or when the bucket
// has a token again.
func retryAfterFor(o *Outcome, now time.Time) string {
	if o.Err == ErrLimitExceeded && !o.Reset.IsZero() {
		return strconv.FormatInt(ceilSeconds(o.Reset.Sub(now)), 10)
	}
	return strconv.FormatInt(ceilSeconds(o.Throttle.RetryAfter), 10)
}

// ceilSeconds rounds d up to whole seconds, at least 1 and at most a day (a bucket that never
// refills reports "forever").
func ceilSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return min(max(s, 1), 86400)
}

// apigwID returns an x-amz-apigw-id: 16 characters ending in "=" like AWS's.
func apigwID() string {
	var b [11]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])[:15] + "="
}
