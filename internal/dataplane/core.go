package dataplane

import (
	"context"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/internal/accesslog"
	"github.com/tollgate/tollgate/internal/limit"
	"github.com/tollgate/tollgate/internal/reqstats"
	"github.com/tollgate/tollgate/internal/snapshot"
)

// MaxPayload is API Gateway's request payload limit (10 MB).
const MaxPayload = 10 << 20

// Core is the engine-independent half of the data plane: the served snapshot, enforcement and
// everything an integration decides (upstream URL, header rules, MOCK and integration-response
// selection). A serving engine (net/http in this package, fasthttp in fastengine) only moves
// bytes; it asks the Core every question whose answer the client could observe, so the two
// engines cannot drift apart.
type Core struct {
	cur              atomic.Pointer[served]
	enforcer         *Enforcer
	now              func() time.Time
	rateLimitHeaders bool
	onBackendFailure func(BackendFailure)
	stats            *reqstats.Registry
	accessLog        *accesslog.Writer
	accountID        string
	lambda           *Lambda
}

// served is a snapshot with the integrations compiled for it so far. Compiled plans live and die
// with their snapshot: a swap starts an empty cache, so nothing stale survives a redeployment.
type served struct {
	snap  *snapshot.Snapshot
	plans sync.Map // *snapshot.Integration → *plan
}

// Options configure the data plane.
type Options struct {
	Enforcer *Enforcer
	// Transport is the net/http engine's transport to backends; nil: a tuned shared transport.
	Transport        http.RoundTripper
	Now              func() time.Time // nil: time.Now
	RateLimitHeaders bool
	// OnBackendFailure, if set, hears of every request answered 500, 502 or 504 because of its
	// integration (a backend refused, reset or timed out; an upstream request could not be
	// built): the operator's log needs them, the client only gets the gateway response.
	OnBackendFailure func(BackendFailure)
	// Stats counts requests for undeployed APIs and stages (deployed ones count on the
	// statistics their snapshot binds); nil: not counted.
	Stats *reqstats.Registry
	// AccessLog, if set, gets one line per request (the stage's format or the default line).
	AccessLog *accesslog.Writer
	// AccountID is the access log's $context.accountId.
	AccountID string
	// Lambda reaches the Lambda Invoke API for AWS_PROXY integrations (nil: none configured,
	// such methods answer 500 as for an unreachable function).
	Lambda *Lambda
}

// BackendFailure is one request its integration failed.
type BackendFailure struct {
	RequestID string
	Method    *snapshot.Method
	Status    int
	Err       error // the cause, for its class: never log its text (it may quote the upstream URL)
}

// NewCore returns a Core; Swap must be called before it serves.
func NewCore(o Options) *Core {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Core{enforcer: o.Enforcer, now: o.Now, rateLimitHeaders: o.RateLimitHeaders, onBackendFailure: o.OnBackendFailure,
		stats: o.Stats, accessLog: o.AccessLog, accountID: o.AccountID, lambda: o.Lambda}
}

// Swap installs a new snapshot; requests already running finish on the old one.
func (c *Core) Swap(s *snapshot.Snapshot) { c.cur.Store(&served{snap: s}) }

// Snapshot returns the snapshot being served.
func (c *Core) Snapshot() *snapshot.Snapshot {
	if s := c.cur.Load(); s != nil {
		return s.snap
	}
	return nil
}

// Inbound is what the Core reads from a client request. Each engine adapts its own request type
// with a one-pointer struct, which converts to this interface without allocating.
type Inbound interface {
	Method() string
	// Header returns the first value of a header; name is in canonical form.
	Header(name string) string
	// RawQuery is the query string as sent, without the "?".
	RawQuery() string
	// Headers lists every request header, canonical names, in order (it allocates: only REQUEST
	// authorizers on a cache miss call it).
	Headers() [][2]string
	// Peer is the client's address, the request's Host and its protocol.
	Peer() (sourceIP, host, protocol string)
	// Signed returns the request as net/http's type with its whole body read (at most MaxPayload:
	// more is ErrTooLarge), for a signature check; the integration still gets the body. Only
	// AWS_IAM methods call it, so only they pay for reading and copying.
	Signed() (*http.Request, []byte, *GatewayError)
}

// HeaderSink receives response or upstream-request headers (name in canonical form).
type HeaderSink interface {
	SetHeader(name, value string)
}

// HeaderSource reads a backend response's headers (name in canonical form).
type HeaderSource interface {
	Header(name string) string
}

// Kind is what an admitted request runs.
type Kind uint8

// The integration kinds Tollgate runs.
const (
	KindMock Kind = iota + 1
	KindHTTPProxy
	KindHTTP
	// KindLambdaProxy is an AWS_PROXY integration to a Lambda function.
	KindLambdaProxy
	// KindLambda is a non-proxy AWS integration to a Lambda function.
	KindLambda
)

// Call is one admitted request: the enforcement outcome and the compiled integration. Engines
// keep it on the stack or in a pooled per-request object.
type Call struct {
	Outcome
	Stage *snapshot.Stage
	Now   time.Time
	Kind  Kind
	// IntegrationLatency is how long the integration's backend took to answer, set by the
	// engine when one was called (Integrated).
	IntegrationLatency time.Duration
	IntegrationStatus  int
	Integrated         bool
	// Rest is the request path after the stage, normalized (aliases the request).
	Rest string
	// RequestID is the request's id; the engine sets it before Admit (it may alias the
	// response's header buffer).
	RequestID string
	// NoWait asks Admit not to block: for a method an event loop cannot run it returns with
	// Handoff set and nothing counted; for a quota that needs the ledger, with Pending() true,
	// and Resume, called where waiting is allowed, finishes the admission.
	NoWait bool
	plan   *plan
	core   *Core
	served *served
}

// BackendFailed reports a request its integration failed (see Options.OnBackendFailure).
func (c *Call) BackendFailed(requestID string, gerr *GatewayError, err error) {
	if c.core == nil || c.core.onBackendFailure == nil || gerr == nil || gerr.Status < 500 {
		return
	}
	c.core.onBackendFailure(BackendFailure{RequestID: requestID, Method: c.Method, Status: gerr.Status, Err: err})
}

// InvokeLambda runs the call's AWS_PROXY Lambda integration through the Core's Invoke API.
func (c *Call) InvokeLambda(ctx context.Context, in Inbound, r *LambdaRequest) (LambdaReply, *GatewayError) {
	var l *Lambda
	if c.core != nil {
		l = c.core.lambda
	}
	return c.InvokeLambdaProxy(ctx, l, in, r)
}

// Integration returns the integration the call runs.
func (c *Call) Integration() *snapshot.Integration { return c.plan.in }

// Admit runs the engine-independent front of a request: API and stage resolution (host and the
// escaped path), the payload limit on a declared Content-Length (contentLength < 0: unknown) and
// every check of the enforcement pipeline (ctx bounds a quota-lease refill). A non-nil error is the gateway response to send;
// otherwise call is ready for its integration.
func (c *Core) Admit(ctx context.Context, r Inbound, host, path string, contentLength int64, call *Call) *GatewayError {
	call.core = c
	s := c.cur.Load()
	apiID, stageName, rest, _ := Resolve(host, path)
	var api *snapshot.API
	if s != nil {
		api = s.snap.API(apiID)
	}
	if api == nil {
		return notDeployed(apiID)
	}
	st := api.Stage(stageName)
	if st == nil || api.ExecuteDisabled {
		return ErrStageForbidden
	}
	call.Stage = st
	rest, ok := NormalizePath(rest)
	if !ok {
		return ErrBadRequest
	}
	call.Rest = rest
	if contentLength > MaxPayload {
		return ErrTooLarge
	}
	v := View{Method: r.Method(), Path: rest, In: r, RequestID: call.RequestID, NoWait: call.NoWait}
	if api.ApiKeySource != "AUTHORIZER" {
		v.APIKey = r.Header("X-Api-Key")
	}
	call.Now = c.now()
	c.enforcer.Check(ctx, st, &v, call.Now, &call.Outcome)
	if call.Err != nil {
		return call.Err
	}
	if call.Handoff {
		return nil
	}
	if call.Pending() {
		call.served = s
		return nil
	}
	return c.bind(s, call)
}

// Resume finishes an admission Admit left pending (Call.NoWait): it waits for the quota ledger
// (ctx bounds the wait) and binds the integration. Like Admit's, a non-nil answer is the gateway
// response to send.
func (c *Core) Resume(ctx context.Context, call *Call) *GatewayError {
	c.enforcer.Resume(ctx, call.Now, &call.Outcome)
	if call.Err != nil {
		return call.Err
	}
	s := call.served
	call.served = nil
	return c.bind(s, call)
}

// bind picks what an admitted call runs: its kind and compiled integration.
func (c *Core) bind(s *served, call *Call) *GatewayError {
	in := call.Method.Integration
	if in == nil {
		return ErrInternal
	}
	switch in.Type {
	case "MOCK":
		call.Kind = KindMock
	case "HTTP_PROXY":
		call.Kind = KindHTTPProxy
	case "HTTP":
		call.Kind = KindHTTP
	case "AWS_PROXY":
		if _, _, ok := lambdaPath(in.URI); !ok {
			return ErrInternal // a Firehose target: not run by Tollgate
		}
		call.Kind = KindLambdaProxy
	case "AWS":
		if _, _, ok := lambdaPath(in.URI); !ok {
			return ErrInternal // another AWS service: not run by Tollgate
		}
		call.Kind = KindLambda
	default:
		return ErrInternal
	}
	call.plan = s.plan(in)
	return nil
}

// plan returns the compiled form of an integration of this snapshot.
func (s *served) plan(in *snapshot.Integration) *plan {
	if p, ok := s.plans.Load(in); ok {
		return p.(*plan)
	}
	p, _ := s.plans.LoadOrStore(in, compile(in))
	return p.(*plan)
}

// LimitHeaders sends the opt-in IETF RateLimit fields for the key's usage-plan bucket, and
// Retry-After on a 429. It does nothing unless the option is on.
func (c *Core) LimitHeaders(call *Call, gerr *GatewayError, set HeaderSink) {
	if !c.rateLimitHeaders {
		return
	}
	d := &call.Throttle
	if d.Limit > 0 {
		set.SetHeader("Ratelimit-Limit", strconv.FormatInt(d.Limit, 10))
		set.SetHeader("Ratelimit-Remaining", strconv.FormatInt(max(d.Remaining, 0), 10))
		if d.Reset != limit.Forever {
			set.SetHeader("Ratelimit-Reset", strconv.FormatInt(ceilSeconds(d.Reset), 10))
		}
	}
	if gerr != nil && gerr.Status == http.StatusTooManyRequests {
		if v := retryAfterFor(&call.Outcome, call.Now); v != "" {
			set.SetHeader("Retry-After", v)
		}
	}
}

// retryAfterFor is the Retry-After of a 429: the end of the quota period, or when the bucket
// that refused (plan, stage method setting or account) has a token again — however far that is
// (a rate of one request a year says so). A bucket that never refills (rate 0, or too slow to
// count) has no truthful answer: "" (no header); nor has a refusal that reported no wait,
// which "1" would only guess at.
func retryAfterFor(o *Outcome, now time.Time) string {
	if o.Err == ErrLimitExceeded && !o.Reset.IsZero() {
		return strconv.FormatInt(ceilSeconds(o.Reset.Sub(now)), 10)
	}
	if o.RetryAfter <= 0 || o.RetryAfter == limit.Forever {
		return ""
	}
	return strconv.FormatInt(ceilSeconds(o.RetryAfter), 10)
}

// ceilSeconds rounds d up to whole seconds, at least 1 (a 429 never says "retry now"). It
// cannot overflow: a wait near the largest Duration once wrapped to a negative count, and a
// never-refilling bucket said "Retry-After: 1".
func ceilSeconds(d time.Duration) int64 {
	s := int64(d / time.Second)
	if d%time.Second > 0 {
		s++
	}
	return max(s, 1)
}

// Done is what an engine knows of a request once it has answered it. Its strings may alias the
// request's buffers: Finish reads them before it returns.
type Done struct {
	Start     time.Time     // when the engine began the request
	Status    int           // the status sent
	Length    int64         // response body bytes (-1: unknown, streamed)
	Err       *GatewayError // the gateway response sent, nil when the integration answered
	RequestID string
	// For the access log only (engines fill them when AccessLogging is true):
	Host, Path, Method, UserAgent, Protocol string
	SourceIP                                netip.Addr
}

// AccessLogging reports whether Finish writes access-log lines, so that an engine fills Done's
// access-log fields only then.
func (c *Core) AccessLogging() bool { return c.accessLog != nil }

// Finish records an answered request: its method's count, error class and latencies, the
// throttle or quota that refused it, and its access-log line. The statistics cost atomic adds on
// objects the snapshot bound in advance (no lookup, lock or allocation); the access log, when on,
// an append into one of its shards under that shard's mostly uncontended lock.
func (c *Core) Finish(call *Call, d *Done) {
	latency := time.Since(d.Start)
	integration := time.Duration(-1)
	if call.Integrated {
		integration = call.IntegrationLatency
	}
	var ms *reqstats.Method
	switch {
	case call.Method != nil && call.Method.Stats != nil:
		ms = call.Method.Stats
	case call.Method == nil && call.Stage != nil && call.Stage.Stats != nil:
		ms = &call.Stage.Stats.Unmatched
	case call.Stage == nil && c.stats != nil:
		ms = &c.stats.Unrouted
	}
	if ms != nil {
		ms.Observe(d.Status, latency, integration)
	}
	switch call.Err {
	case ErrTooManyRequests:
		if call.Stage != nil && call.Stage.Stats != nil {
			call.Stage.Stats.Throttled[call.Scope].Add(1)
		}
	case ErrLimitExceeded:
		if call.Plan != nil && call.Plan.Stats != nil {
			call.Plan.Stats.QuotaRejected.Add(1)
		}
	}
	if c.accessLog != nil {
		c.logAccess(call, d, latency, integration)
	}
}

// logAccess appends the request's line in its stage's format (the default line otherwise) to
// the access log, which drops it rather than wait.
func (c *Core) logAccess(call *Call, d *Done, latency, integration time.Duration) {
	r := accesslog.Record{
		RequestID: d.RequestID, ExtendedRequestID: d.RequestID, SourceIP: d.SourceIP, UserAgent: d.UserAgent,
		HTTPMethod: d.Method, Path: d.Path, Protocol: d.Protocol, Status: d.Status, ResponseLength: d.Length,
		Start: d.Start, IntegrationLatency: integration, IntegrationStatus: call.IntegrationStatus,
		ResponseLatency: latency, DomainName: d.Host, AccountID: c.accountID,
	}
	if d.Err != nil {
		r.ErrorMessage, r.ErrorResponseType = d.Err.Message, d.Err.ResponseType
	}
	if call.Key != nil {
		r.APIKeyID = call.Key.ID
	}
	if call.Method != nil {
		r.ResourcePath = call.Method.ResourcePath
	}
	f := accesslog.Default
	if st := call.Stage; st != nil {
		r.Stage, r.APIID = st.Name, st.API.ID
		if call.Rest != "" || call.Method != nil {
			r.Path, r.StagePath = call.Rest, true
		}
		if st.AccessLog != nil {
			f = st.AccessLog
		}
	}
	c.accessLog.Log(f, &r)
}
