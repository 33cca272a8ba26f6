package dataplane

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/limit"
)

// TestRetryAfterNamesTheBucketThatRefused: a 429's wait is the refusing bucket's — the usage
// plan's, the stage method setting's or the account's — in both limiter modes. Before, only the
// plan bucket's decision was kept, so a stage or account refusal said "Retry-After: 1" whatever
// its rate.
func TestRetryAfterNamesTheBucketThatRefused(t *testing.T) {
	slow := apigw.Throttle{RateLimit: 0.001, BurstLimit: 1} // one token per 1000 s
	never := apigw.Throttle{RateLimit: 1e-320, BurstLimit: 1}
	for _, tc := range []struct {
		name     string
		plan     apigw.UsagePlan
		settings map[string]apigw.MethodSetting
		account  apigw.Throttle
		path     string
		want     time.Duration
	}{
		{"plan", apigw.UsagePlan{Throttle: &slow}, nil, wide, "/pets", 1000 * time.Second},
		{"plan never refills", apigw.UsagePlan{Throttle: &never}, nil, wide, "/pets", limit.Forever},
		{"stage setting, plan admits", apigw.UsagePlan{Throttle: &wide},
			map[string]apigw.MethodSetting{"*/*": {ThrottlingRateLimit: 0.001, ThrottlingBurstLimit: 1}}, wide, "/pets", 1000 * time.Second},
		{"stage setting, no key", apigw.UsagePlan{},
			map[string]apigw.MethodSetting{"*/*": {ThrottlingRateLimit: 1e-320, ThrottlingBurstLimit: 1}}, wide, "/open", limit.Forever},
		{"account", apigw.UsagePlan{}, nil, slow, "/open", 1000 * time.Second},
		{"account never refills", apigw.UsagePlan{}, nil, never, "/open", limit.Forever},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inBothLimiterModes(t, func(t *testing.T) {
				f := newFixture(t, tc.plan, tc.settings, tc.account)
				key := ""
				if tc.path == "/pets" {
					key = keyValue
				}
				var o Outcome
				for i := range 2 { // the one token, then the refusal
					o = Outcome{}
					f.e.Check(context.Background(), f.stage, &View{Method: "GET", Path: tc.path, APIKey: key}, t0, &o)
					if i == 0 && o.Err != nil {
						t.Fatalf("first request refused: %v", o.Err)
					}
				}
				if o.Err != ErrTooManyRequests || o.RetryAfter != tc.want {
					t.Fatalf("second request: %v, RetryAfter %v; want 429, %v", o.Err, o.RetryAfter, tc.want)
				}
			})
		})
	}
}

// TestRetryAfterFor: the header value is the wait in whole seconds, rounded up, at least 1,
// never wrapped or capped, and absent when there is no truthful value.
func TestRetryAfterFor(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Outcome
		want string
	}{
		{"a token in 1 ns", Outcome{Err: ErrTooManyRequests, RetryAfter: 1}, "1"},
		{"exactly 2 s", Outcome{Err: ErrTooManyRequests, RetryAfter: 2 * time.Second}, "2"},
		{"2 s and 1 ns", Outcome{Err: ErrTooManyRequests, RetryAfter: 2*time.Second + 1}, "3"},
		{"1000 s", Outcome{Err: ErrTooManyRequests, RetryAfter: 1000 * time.Second}, "1000"},
		{"a year: no one-day cap", Outcome{Err: ErrTooManyRequests, RetryAfter: 365 * 24 * time.Hour}, "31536000"},
		{"just short of Forever: no wrap", Outcome{Err: ErrTooManyRequests, RetryAfter: math.MaxInt64 - 1}, "9223372037"},
		{"never refills", Outcome{Err: ErrTooManyRequests, RetryAfter: limit.Forever}, ""},
		{"no bucket refused", Outcome{Err: ErrForbidden}, ""},
		{"quota period end", Outcome{Err: ErrLimitExceeded, Reset: t0.Add(90 * time.Minute)}, "5400"},
	} {
		if got := retryAfterFor(&tc.o, t0); got != tc.want {
			t.Errorf("%s: retryAfterFor = %q, want %q", tc.name, got, tc.want)
		}
	}
}
