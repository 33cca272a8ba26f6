// Package dataplane is THE HOT PATH: it resolves a request to a deployed stage and method, checks
// the API key, applies every throttle scope and the quota, meters what it admits and runs the
// integration. Enforcement (this file) works on a small request view and knows nothing of the HTTP
// library; the Core (core.go, plan.go, upstream.go, mock.go) decides everything else a client can
// observe, also without an HTTP library. Serving engines only move bytes: net/http here
// (handler.go, proxy.go) and fasthttp in fastengine, chosen by measurement with the engine option.
//
// Per request it reads one immutable snapshot and in-process counters: no database call, no global
// lock, no goroutine.
package dataplane

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/tollgate/tollgate/internal/authorizer"
	"github.com/tollgate/tollgate/internal/limit"
	"github.com/tollgate/tollgate/internal/quota"
	"github.com/tollgate/tollgate/internal/reqstats"
	"github.com/tollgate/tollgate/internal/snapshot"
)

// View is what enforcement needs to know about a request.
type View struct {
	Method string
	Path   string // after the stage, escaped, "" or "/" for the root
	APIKey string // the x-api-key header, "" when absent
	// In is the request, for the checks that need more of it than the above (AWS_IAM's
	// signature, authorizers' identity sources); nil only in tests of methods that need none.
	In Inbound
	// RequestID is the request's id, for authorizer events.
	RequestID string
	// NoWait: nothing may block. A method that would (an authorizer, a signature, an
	// integration a loop does not run) stops after routing with Outcome.Handoff set and nothing
	// counted; a quota that cannot be decided without the ledger is left pending
	// (Outcome.Pending), for the event-loop engine to finish off the loop (Enforcer.Resume).
	NoWait bool
}

// Outcome is the result of enforcement: Err != nil means reject with that gateway response.
type Outcome struct {
	Method *snapshot.Method
	Params snapshot.Params
	Key    *snapshot.Key
	// APIKey is the key value that admitted the request: the x-api-key header, or the
	// authorizer's usageIdentifierKey when the API's key source is AUTHORIZER.
	APIKey string
	// Auth is what the method's authorizer established (nil without one).
	Auth *authorizer.Result
	Err  *GatewayError
	// Throttle is the decision of the key's usage-plan bucket (zero when none applied), for the
	// opt-in RateLimit headers.
	Throttle limit.Decision
	// RetryAfter is, when a throttle refused the request, how long until the bucket that refused
	// — the plan's, the stage method setting's or the account's — admits one (limit.Forever if
	// it never refills). Throttle alone would answer for the plan bucket even when another one
	// refused: the 429 would invite a retry in a second from a bucket that refills once a day.
	RetryAfter time.Duration
	// Reset is when an exhausted quota period ends.
	Reset time.Time
	// Scope is the throttle that refused the request (with ErrTooManyRequests).
	Scope reqstats.Scope
	// Plan is the usage plan the key was checked against (nil when no key was needed).
	Plan *snapshot.Plan
	// Handoff: a NoWait check found a method an event loop cannot run without blocking (see
	// runsOnLoop); it stopped after routing, with nothing counted, for the engine to hand the
	// request to one that can wait.
	Handoff bool
	// pending is the binding whose quota a NoWait check left undecided.
	pending *snapshot.Binding
}

// Pending reports that a NoWait check passed every step but the quota, which needs the ledger:
// Enforcer.Resume decides it.
func (o *Outcome) Pending() bool { return o.pending != nil }

// Enforcer applies the checks of spec §7.2 in order. Quota entries and usage counters come from
// the snapshot's key bindings (bound on a key's first request).
type Enforcer struct {
	Limiter limit.Limiter
	// FailOpen admits requests when the quota store fails (default: fail closed, 503).
	FailOpen bool
	// IAM verifies the signature of AWS_IAM methods; nil refuses them all.
	IAM IAMVerifier
	// Authorizers run CUSTOM and COGNITO_USER_POOLS methods' authorizers; nil answers them
	// 500, as an authorizer that cannot be reached.
	Authorizers *Authorizers
}

// IAMVerifier checks a SigV4 signature for the service execute-api, scoped to region, over the
// request as received and its whole body. A non-nil answer is the gateway response to send.
type IAMVerifier interface {
	VerifyInvoke(r *http.Request, body []byte, region string) *GatewayError
}

// Check runs the pipeline for a request to stage st. It fills o.
func (e *Enforcer) Check(ctx context.Context, st *snapshot.Stage, v *View, now time.Time, o *Outcome) {
	m := st.Match(v.Method, v.Path, &o.Params)
	if m == nil {
		o.Err = ErrMissingAuthToken
		return
	}
	o.Method = m
	if v.NoWait && !runsOnLoop(m) {
		o.Handoff = true // nothing counted yet: the engine serves the request elsewhere
		return
	}
	region := st.API.Region
	// Authorization comes before the API key, as on AWS.
	if m.AWSIAM {
		if o.Err = e.verifyIAM(v.In, region.Name); o.Err != nil {
			return
		}
	}
	if m.Authorizer != nil {
		if o.Auth, o.Err = e.Authorizers.Run(ctx, m, v, &o.Params, now); o.Err != nil {
			return
		}
		if st.API.ApiKeySource == "AUTHORIZER" {
			v.APIKey = o.Auth.UsageIdentifierKey
		}
	}
	var b *snapshot.Binding
	if m.ApiKeyRequired {
		if v.APIKey == "" {
			o.Err = ErrForbidden
			return
		}
		var k *snapshot.Key
		if o.Auth != nil && v.APIKey == o.Auth.UsageIdentifierKey {
			k = region.Key(o.Auth.KeyHash) // hashed once when the answer arrived
		} else {
			k = region.Key(snapshot.HashKey(v.APIKey))
		}
		if k == nil || !k.Enabled {
			o.Err = ErrForbidden
			return
		}
		if b = k.Binding(st); b == nil {
			o.Err = ErrForbidden
			return
		}
		o.Key, o.Plan, o.APIKey = k, b.Plan, v.APIKey
		var scope reqstats.Scope
		if o.Throttle, scope = e.planThrottle(b, m, region.Name, now); !o.Throttle.Allowed {
			o.Err, o.RetryAfter, o.Scope = ErrTooManyRequests, o.Throttle.RetryAfter, scope
			return
		}
	}
	// A negative stage limit means "unset" (Terraform sends -1): no bucket of its own.
	if s := m.Setting; s != nil && s.ThrottlingRateLimit >= 0 && s.ThrottlingBurstLimit >= 0 {
		id := limit.BucketID{Region: region.Name, ApiID: st.API.ID, Stage: st.Name, Method: m.SettingKey}
		if d := e.Limiter.Allow(id, s.ThrottlingRateLimit, s.ThrottlingBurstLimit, now); !d.Allowed {
			o.Err, o.RetryAfter, o.Scope = ErrTooManyRequests, d.RetryAfter, reqstats.ScopeStage
			return
		}
	}
	if d := e.account(region, now); !d.Allowed {
		o.Err, o.RetryAfter, o.Scope = ErrTooManyRequests, d.RetryAfter, reqstats.ScopeAccount
		return
	}
	if b == nil {
		return
	}
	if q := b.Quota(); q != nil {
		if !v.NoWait {
			if !e.takeQuota(ctx, q, b.Policy, now, o) {
				return
			}
		} else if ok, decided := q.TryTake(b.Policy, now); !decided {
			o.pending = b
			return
		} else if !ok {
			o.Err, o.Reset = ErrLimitExceeded, quota.PeriodEnd(b.Policy.Quota.Period, now)
			return
		}
	}
	if u := b.Usage(); u != nil {
		u.Add(now)
	}
}

// Resume decides the quota a NoWait check left pending, waiting for the ledger as Check would
// have (ctx bounds the wait), and meters the request if it is admitted.
func (e *Enforcer) Resume(ctx context.Context, now time.Time, o *Outcome) {
	b := o.pending
	if b == nil {
		return
	}
	o.pending = nil
	if !e.takeQuota(ctx, b.Quota(), b.Policy, now, o) {
		return
	}
	if u := b.Usage(); u != nil {
		u.Add(now)
	}
}

// runsOnLoop reports whether an event loop can run method m to its end without blocking: no
// signature or authorizer to check (both read bodies or call out), and a MOCK, or an HTTP or
// HTTP_PROXY integration to a plain-http backend (the loop speaks neither TLS nor the Lambda API). Throttles and a quota
// lease on hand are in memory; a quota that needs the ledger is left pending instead.
func runsOnLoop(m *snapshot.Method) bool {
	if m.AWSIAM || m.Authorizer != nil {
		return false
	}
	in := m.Integration
	return in == nil || in.Type == "MOCK" || (in.Type == "HTTP_PROXY" || in.Type == "HTTP") && strings.HasPrefix(in.URI, "http://")
}

// verifyIAM runs the AWS_IAM check: the engine hands over the request with its body read (up to
// the payload limit), which only AWS_IAM methods pay for.
func (e *Enforcer) verifyIAM(in Inbound, region string) *GatewayError {
	if e.IAM == nil || in == nil {
		return ErrMissingAuthToken
	}
	r, body, gerr := in.Signed()
	if gerr != nil {
		return gerr
	}
	return e.IAM.VerifyInvoke(r, body, region)
}

// planThrottle applies the usage plan's per-key bucket: the method-level entry when the plan has
// one for this method (it replaces the plan bucket), else the plan throttle. The scope says
// which one decided.
func (e *Enforcer) planThrottle(b *snapshot.Binding, m *snapshot.Method, region string, now time.Time) (limit.Decision, reqstats.Scope) {
	p := b.Plan
	if mt, ok := p.MethodThrottle(m); ok {
		id := limit.BucketID{Region: region, PlanID: p.ID, KeyID: b.KeyID(), ApiID: m.Stage.API.ID, Stage: m.Stage.Name, Method: mt.Key}
		return e.Limiter.Allow(id, mt.Throttle.RateLimit, mt.Throttle.BurstLimit, now), reqstats.ScopeMethod
	}
	if t := p.Throttle; t != nil {
		if bk := b.Throttle(now.UnixNano()); bk != nil {
			return bk.Decide(now.UnixNano()), reqstats.ScopePlan // bound in process: no registry lookup
		}
		return e.Limiter.Allow(limit.BucketID{Region: region, PlanID: p.ID, KeyID: b.KeyID()}, t.RateLimit, t.BurstLimit, now), reqstats.ScopePlan
	}
	return limit.Decision{Allowed: true}, reqstats.ScopePlan
}

// account applies the account throttle of the region.
func (e *Enforcer) account(r *snapshot.Region, now time.Time) limit.Decision {
	if bk := r.AccountBucket(now.UnixNano()); bk != nil {
		return bk.Decide(now.UnixNano())
	}
	t := r.Throttle
	return e.Limiter.Allow(limit.BucketID{Region: r.Name}, t.RateLimit, t.BurstLimit, now)
}

func (e *Enforcer) takeQuota(ctx context.Context, q *quota.Entry, p *quota.Policy, now time.Time, o *Outcome) bool {
	ok, err := q.Take(ctx, p, now)
	if err != nil {
		if e.FailOpen {
			return true
		}
		o.Err = ErrServiceUnavailable
		return false
	}
	if !ok {
		o.Err = ErrLimitExceeded
		o.Reset = quota.PeriodEnd(p.Quota.Period, now)
		return false
	}
	return true
}
