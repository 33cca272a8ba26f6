package dataplane

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/limit"
	"github.com/tollgate/tollgate/internal/meter"
	"github.com/tollgate/tollgate/internal/quota"
	"github.com/tollgate/tollgate/internal/quota/quotamem"
	"github.com/tollgate/tollgate/internal/quota/quotastore"
	"github.com/tollgate/tollgate/internal/snapshot"
)

// countUsage reads what the fixture's real Meter counted for its plan, over keys and days.
type countUsage struct{ m *meter.Meter }

func (c *countUsage) total() int64 {
	var n int64
	for _, days := range c.m.Pending("us-east-1", "plan1") {
		for _, c := range days {
			n += c
		}
	}
	return n
}

// fixture is one API ("api1", stage "dev") with GET /pets (key required), GET /open (no key),
// GET /pets/{id} (key required) and a plan with one key.
type fixture struct {
	snap  *snapshot.Snapshot
	e     *Enforcer
	usage *countUsage
	stage *snapshot.Stage
}

const keyValue = "the-key-value-0123456789"

func newFixture(t testing.TB, plan apigw.UsagePlan, settings map[string]apigw.MethodSetting, account apigw.Throttle) *fixture {
	return newFixtureFull(t, plan, nil, settings, account)
}

func newFixtureWithMethodThrottle(t testing.TB, plan apigw.UsagePlan, mt map[string]apigw.Throttle) *fixture {
	return newFixtureFull(t, plan, mt, nil, wide)
}

func newFixtureFull(t testing.TB, plan apigw.UsagePlan, mt map[string]apigw.Throttle, settings map[string]apigw.MethodSetting, account apigw.Throttle) *fixture {
	return newFixtureLedger(t, plan, mt, settings, account, quotastore.Ledger(quotamem.New()))
}

func newFixtureLedger(t testing.TB, plan apigw.UsagePlan, mt map[string]apigw.Throttle, settings map[string]apigw.MethodSetting, account apigw.Throttle, ledger quota.Ledger) *fixture {
	res := []*apigw.Resource{
		{ID: "root"},
		{ID: "pets", ParentID: "root", PathPart: "pets", Methods: map[string]*apigw.Method{"GET": {HTTPMethod: "GET", ApiKeyRequired: true, Integration: &apigw.Integration{Type: "MOCK"}}}},
		{ID: "pet", ParentID: "pets", PathPart: "{id}", Methods: map[string]*apigw.Method{"GET": {HTTPMethod: "GET", ApiKeyRequired: true, Integration: &apigw.Integration{Type: "MOCK"}}}},
		{ID: "open", ParentID: "root", PathPart: "open", Methods: map[string]*apigw.Method{"GET": {HTTPMethod: "GET", Integration: &apigw.Integration{Type: "MOCK"}}}},
		{ID: "iam", ParentID: "root", PathPart: "iam", Methods: map[string]*apigw.Method{"GET": {HTTPMethod: "GET", AuthorizationType: "AWS_IAM", ApiKeyRequired: true, Integration: &apigw.Integration{Type: "MOCK"}}}},
	}
	plan.ID = "plan1"
	plan.ApiStages = []apigw.ApiStage{{ApiID: "api1", Stage: "dev", Throttle: mt}}
	in := snapshot.Input{Regions: []snapshot.RegionInput{{
		Region:      "us-east-1",
		Throttle:    account,
		Apis:        []*apigw.RestApi{{ID: "api1", ApiKeySource: "HEADER"}},
		Deployments: []*apigw.Deployment{{ID: "d1", ApiID: "api1", Resources: res}},
		Stages:      []*apigw.Stage{{ApiID: "api1", StageName: "dev", DeploymentID: "d1", MethodSettings: settings}},
		Plans:       []*apigw.UsagePlan{&plan},
		Keys: []snapshot.KeyInput{
			{ID: "key1", Hash: snapshot.HashKey(keyValue), Enabled: true},
			{ID: "key2", Hash: snapshot.HashKey("disabled-key-0123456789"), Enabled: false},
			{ID: "key3", Hash: snapshot.HashKey("planless-key-0123456789"), Enabled: true},
		},
		PlanKeys: map[string][]string{"plan1": {"key1", "key2"}},
	}}}
	counter := quota.New(ledger, quota.Options{Deadline: 50 * time.Millisecond})
	t.Cleanup(func() { counter.Close(context.Background()) })
	u := &countUsage{meter.New(nil, meter.Options{})}
	lim := limit.NewLocal()
	binder := snapshot.Binder{
		QuotaEntry: counter.Entry,
		Meter:      u.m,
	}
	if bindBuckets {
		binder.Bucket = lim.Bucket
	}
	snap := snapshot.Build(in, binder)
	return &fixture{snap: snap, e: &Enforcer{Limiter: lim}, usage: u, stage: snap.API("api1").Stage("dev")}
}

// bindBuckets makes fixtures bind in-process buckets to the snapshot, as a single node does;
// false sends every throttle decision through the Limiter, as shared and split limiters do.
var bindBuckets = true

// inBothLimiterModes runs a throttle test with buckets bound to the snapshot and without.
func inBothLimiterModes(t *testing.T, test func(t *testing.T)) {
	for _, bound := range []bool{true, false} {
		name := map[bool]string{true: "bound", false: "through the limiter"}[bound]
		t.Run(name, func(t *testing.T) {
			defer func(old bool) { bindBuckets = old }(bindBuckets)
			bindBuckets = bound
			test(t)
		})
	}
}

func (f *fixture) check(method, path, key string, now time.Time) *GatewayError {
	var o Outcome
	f.e.Check(context.Background(), f.stage, &View{Method: method, Path: path, APIKey: key}, now, &o)
	return o.Err
}

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

var wide = apigw.Throttle{RateLimit: 10000, BurstLimit: 5000}

func TestCheckRows(t *testing.T) {
	f := newFixture(t, apigw.UsagePlan{}, nil, wide)
	tests := []struct {
		name, method, path, key string
		want                    *GatewayError
	}{
		{"no key", "GET", "/pets", "", ErrForbidden},
		{"unknown key", "GET", "/pets", "nope-nope-nope-nope-nope", ErrForbidden},
		{"disabled key", "GET", "/pets", "disabled-key-0123456789", ErrForbidden},
		{"key in no plan for the stage", "GET", "/pets", "planless-key-0123456789", ErrForbidden},
		{"no route", "GET", "/nothing", keyValue, ErrMissingAuthToken},
		{"wrong verb", "POST", "/pets", keyValue, ErrMissingAuthToken},
		{"ok", "GET", "/pets", keyValue, nil},
		{"ok with param", "GET", "/pets/7", keyValue, nil},
		{"no key needed", "GET", "/open", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := f.check(tc.method, tc.path, tc.key, t0); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	if n := f.usage.total(); n != 2 {
		t.Fatalf("metered %d requests, want 2 (unmetered and rejected requests do not count)", n)
	}
}

func TestPlanThrottleRefillsWithTheClock(t *testing.T) {
	inBothLimiterModes(t, func(t *testing.T) {
		f := newFixture(t, apigw.UsagePlan{Throttle: &apigw.Throttle{RateLimit: 2, BurstLimit: 3}}, nil, wide)
		for i := 0; i < 3; i++ {
			if err := f.check("GET", "/pets", keyValue, t0); err != nil {
				t.Fatalf("burst request %d: %v", i, err)
			}
		}
		if err := f.check("GET", "/pets", keyValue, t0); err != ErrTooManyRequests {
			t.Fatalf("over burst: %v", err)
		}
		if err := f.check("GET", "/pets", keyValue, t0.Add(500*time.Millisecond)); err != nil {
			t.Fatalf("after one refill interval: %v", err)
		}
		if err := f.check("GET", "/pets", keyValue, t0.Add(500*time.Millisecond)); err != ErrTooManyRequests {
			t.Fatalf("second request in the same instant: %v", err)
		}
		if n := f.usage.total(); n != 4 {
			t.Fatalf("metered %d, want 4 (throttled requests are not counted)", n)
		}
	})
}

func TestMethodThrottleReplacesPlanBucket(t *testing.T) {
	inBothLimiterModes(t, func(t *testing.T) {
		plan := apigw.UsagePlan{Throttle: &apigw.Throttle{RateLimit: 0, BurstLimit: 1}}
		f := newFixtureWithMethodThrottle(t, plan, map[string]apigw.Throttle{"/pets/{id}/GET": {RateLimit: 0, BurstLimit: 3}})
		for i := 0; i < 3; i++ {
			if err := f.check("GET", "/pets/1", keyValue, t0); err != nil {
				t.Fatalf("method bucket request %d: %v", i, err)
			}
		}
		if err := f.check("GET", "/pets/1", keyValue, t0); err != ErrTooManyRequests {
			t.Fatalf("method bucket exhausted: %v", err)
		}
		// The plan bucket (burst 1) is separate and still full.
		if err := f.check("GET", "/pets", keyValue, t0); err != nil {
			t.Fatalf("plan bucket: %v", err)
		}
		if err := f.check("GET", "/pets", keyValue, t0); err != ErrTooManyRequests {
			t.Fatalf("plan bucket exhausted: %v", err)
		}
	})
}

func TestStageAndAccountThrottles(t *testing.T) {
	inBothLimiterModes(t, func(t *testing.T) {
		settings := map[string]apigw.MethodSetting{"*/*": {ThrottlingRateLimit: 0, ThrottlingBurstLimit: 2}}
		f := newFixture(t, apigw.UsagePlan{}, settings, wide)
		for i := 0; i < 2; i++ {
			if err := f.check("GET", "/open", "", t0); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.check("GET", "/open", "", t0); err != ErrTooManyRequests {
			t.Fatalf("stage bucket: %v", err)
		}
		f = newFixture(t, apigw.UsagePlan{}, nil, apigw.Throttle{RateLimit: 0, BurstLimit: 1})
		if err := f.check("GET", "/open", "", t0); err != nil {
			t.Fatal(err)
		}
		if err := f.check("GET", "/open", "", t0); err != ErrTooManyRequests {
			t.Fatalf("account bucket: %v", err)
		}
	})
}

func TestQuotaIsExactAndPeriodic(t *testing.T) {
	f := newFixture(t, apigw.UsagePlan{Quota: &apigw.Quota{Limit: 3, Period: apigw.PeriodDay}}, nil, wide)
	for i := 0; i < 3; i++ {
		if err := f.check("GET", "/pets", keyValue, t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.check("GET", "/pets", keyValue, t0); err != ErrLimitExceeded {
		t.Fatalf("exhausted: %v", err)
	}
	if err := f.check("GET", "/pets", keyValue, t0.Add(24*time.Hour)); err != nil {
		t.Fatalf("next day: %v", err)
	}
}

func BenchmarkCheck(b *testing.B) {
	f := newFixture(b, apigw.UsagePlan{Throttle: &apigw.Throttle{RateLimit: 1e9, BurstLimit: 1e9}, Quota: &apigw.Quota{Limit: 1 << 40, Period: apigw.PeriodMonth}}, nil,
		apigw.Throttle{RateLimit: 1e9, BurstLimit: 1e9})
	v := View{Method: "GET", Path: "/pets/42", APIKey: keyValue}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var o Outcome
		f.e.Check(ctx, f.stage, &v, t0, &o)
		if o.Err != nil {
			b.Fatal(o.Err)
		}
	}
}

// TestCheckDoesNotAllocate: the enforcement path — route match, key lookup, plan throttle,
// stage and account buckets, quota and metering — allocates nothing per request, so its cost
// stays flat under load whatever the serving engine.
func TestCheckDoesNotAllocate(t *testing.T) {
	settings := map[string]apigw.MethodSetting{"*/*": {ThrottlingRateLimit: 1e9, ThrottlingBurstLimit: 1e9}}
	f := newFixture(t, apigw.UsagePlan{Throttle: &apigw.Throttle{RateLimit: 1e9, BurstLimit: 1e9},
		Quota: &apigw.Quota{Limit: 1 << 40, Period: apigw.PeriodMonth}}, settings, apigw.Throttle{RateLimit: 1e9, BurstLimit: 1e9})
	ctx := context.Background()
	for _, v := range []View{
		{Method: "GET", Path: "/pets/42", APIKey: keyValue},
		{Method: "GET", Path: "/pets", APIKey: keyValue},
		{Method: "GET", Path: "/open"},
		{Method: "GET", Path: "/pets", APIKey: "unknown-key-0123456789"}, // a rejection
	} {
		now := t0
		allocs := testing.AllocsPerRun(2000, func() {
			var o Outcome
			now = now.Add(time.Microsecond)
			f.e.Check(ctx, f.stage, &v, now, &o)
		})
		if allocs != 0 {
			t.Errorf("Check %s %s allocates %.1f times per request", v.Method, v.Path, allocs)
		}
	}
	if f.usage.total() == 0 {
		t.Fatal("nothing was metered: the fixture does not exercise the full path")
	}
}

// downLedger is a quota store that is down.
type downLedger struct{}

func (downLedger) ReserveQuota(context.Context, quota.Key, int64, int64) (int64, int64, error) {
	return 0, 0, errors.New("connection refused")
}

func (downLedger) ReleaseQuota(context.Context, quota.Key, int64) error { return nil }

// When no lease can be had, quota checks fail closed (503) by default and admit with FailOpen;
// methods without a quota are unaffected either way.
func TestQuotaStoreFailurePolicy(t *testing.T) {
	for _, tc := range []struct {
		failOpen bool
		want     *GatewayError
	}{{false, ErrServiceUnavailable}, {true, nil}} {
		f := newFixtureLedger(t, apigw.UsagePlan{Quota: &apigw.Quota{Limit: 100, Period: apigw.PeriodDay}}, nil, nil, wide, downLedger{})
		f.e.FailOpen = tc.failOpen
		if got := f.check("GET", "/pets", keyValue, t0); got != tc.want {
			t.Errorf("failOpen=%v: got %v, want %v", tc.failOpen, got, tc.want)
		}
		if got := f.check("GET", "/open", "", t0); got != nil {
			t.Errorf("failOpen=%v: unmetered method: %v", tc.failOpen, got)
		}
	}
}

// TestNoWaitCheck: the event loop's admission. A method a loop cannot run stops after routing
// with nothing counted (Handoff); a quota that needs the ledger is left pending, and Resume
// decides it as Check would have; a lease on hand, or a known spent key, is decided at once.
func TestNoWaitCheck(t *testing.T) {
	type step struct {
		name             string
		path             string
		handoff, pending bool
		want             *GatewayError // after Resume when pending
		usage            int64         // requests metered so far, after the step
	}
	for _, tc := range []struct {
		name  string
		limit int64
		steps []step
	}{
		{"a lease on hand", 1000, []step{
			{"AWS_IAM method: handed over, nothing counted", "/iam", true, false, nil, 0},
			{"first request: no lease yet", "/pets", false, true, nil, 1},
			{"the lease: decided on the loop", "/pets", false, false, nil, 2},
			{"and again", "/pets", false, false, nil, 3},
		}},
		{"a spent key", 1, []step{
			{"first request: no lease yet", "/pets", false, true, nil, 1},
			{"allowance used: the ledger says so", "/pets", false, true, ErrLimitExceeded, 1},
			{"known spent: decided on the loop", "/pets", false, false, ErrLimitExceeded, 1},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, apigw.UsagePlan{Quota: &apigw.Quota{Limit: tc.limit, Period: apigw.PeriodDay}}, nil, wide)
			for _, st := range tc.steps {
				o := &Outcome{}
				before := f.usage.total()
				f.e.Check(context.Background(), f.stage, &View{Method: "GET", Path: st.path, APIKey: keyValue, NoWait: true}, t0, o)
				if o.Handoff != st.handoff || o.Pending() != st.pending {
					t.Fatalf("%s: handoff %v pending %v, want %v %v", st.name, o.Handoff, o.Pending(), st.handoff, st.pending)
				}
				if st.pending {
					if o.Err != nil || f.usage.total() != before {
						t.Fatalf("%s: pending, yet err %v and %d metered", st.name, o.Err, f.usage.total()-before)
					}
					f.e.Resume(context.Background(), t0, o)
					if o.Pending() {
						t.Fatalf("%s: still pending after Resume", st.name)
					}
				}
				if o.Err != st.want || f.usage.total() != st.usage {
					t.Fatalf("%s: err %v, %d metered; want %v, %d", st.name, o.Err, f.usage.total(), st.want, st.usage)
				}
			}
		})
	}
}
