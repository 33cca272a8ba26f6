package snapshot

import (
	"fmt"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/limit"
	"github.com/tollgate/tollgate/internal/meter"
	"github.com/tollgate/tollgate/internal/quota"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// dayOf is the UTC day of t as the meter names it.
func dayOf(t time.Time) time.Time { return time.Unix(t.Unix()/86400*86400, 0).UTC() }

// multiInput is one API with stages a, b and c, and plans: pa on a, pab on a+b, pc on c, pq
// (with a quota) on b, pnone on no deployed stage.
func multiInput(planKeys map[string][]string, overrides map[string]map[string]Override) Input {
	res := []*apigw.Resource{{ID: "root", Methods: map[string]*apigw.Method{"GET": {HTTPMethod: "GET", ApiKeyRequired: true}}}}
	plan := func(id string, q *apigw.Quota, stages ...string) *apigw.UsagePlan {
		p := &apigw.UsagePlan{ID: id, Quota: q}
		for _, s := range stages {
			p.ApiStages = append(p.ApiStages, apigw.ApiStage{ApiID: "api1", Stage: s})
		}
		return p
	}
	ri := RegionInput{
		Region:      "us-east-1",
		Apis:        []*apigw.RestApi{{ID: "api1"}},
		Deployments: []*apigw.Deployment{{ID: "d1", ApiID: "api1", Resources: res}},
		Plans: []*apigw.UsagePlan{plan("pa", nil, "a"), plan("pab", nil, "a", "b"), plan("pc", nil, "c"),
			plan("pq", &apigw.Quota{Limit: 10, Period: apigw.PeriodDay}, "b"), plan("pnone", nil, "gone")},
		PlanKeys:  planKeys,
		Overrides: overrides,
	}
	for _, s := range []string{"a", "b", "c"} {
		ri.Stages = append(ri.Stages, &apigw.Stage{ApiID: "api1", StageName: s, DeploymentID: "d1"})
	}
	for i := 1; i <= 3; i++ {
		ri.Keys = append(ri.Keys, KeyInput{ID: fmt.Sprintf("k%d", i), Hash: HashKey(fmt.Sprintf("v%d", i)), Enabled: i != 3})
	}
	return Input{Regions: []RegionInput{ri}}
}

func TestBindingsByStage(t *testing.T) {
	for _, tc := range []struct {
		name     string
		planKeys map[string][]string
		want     map[string]string // stage → plan id granting k1 ("" none)
	}{
		{"no plan", nil, map[string]string{"a": "", "b": "", "c": ""}},
		{"one plan, one stage", map[string][]string{"pa": {"k1"}}, map[string]string{"a": "pa", "b": "", "c": ""}},
		{"one plan, two stages", map[string][]string{"pab": {"k1"}}, map[string]string{"a": "pab", "b": "pab", "c": ""}},
		{"two plans, disjoint stages", map[string][]string{"pa": {"k1"}, "pc": {"k1"}}, map[string]string{"a": "pa", "b": "", "c": "pc"}},
		{"two plans on one stage: the later plan wins", map[string][]string{"pa": {"k1"}, "pab": {"k1"}}, map[string]string{"a": "pab", "b": "pab", "c": ""}},
		{"first plan covers no deployed stage", map[string][]string{"pnone": {"k1"}, "pc": {"k1"}}, map[string]string{"a": "", "b": "", "c": "pc"}},
		{"unknown key ids are skipped", map[string][]string{"pa": {"nope", "k1"}}, map[string]string{"a": "pa", "b": "", "c": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Build(multiInput(tc.planKeys, nil), Binder{})
			api := s.API("api1")
			k := api.Region.Key(HashKey("v1"))
			if k == nil || k.ID != "k1" || !k.Enabled {
				t.Fatalf("key: %+v", k)
			}
			for stage, want := range tc.want {
				got := ""
				if b := k.Binding(api.Stage(stage)); b != nil {
					got = b.Plan.ID
					if b.KeyID() != "k1" {
						t.Errorf("stage %s: binding of %q", stage, b.KeyID())
					}
				}
				if got != want {
					t.Errorf("stage %s: plan %q, want %q", stage, got, want)
				}
			}
		})
	}
}

// TestLazyBinding checks that a build creates no per-key state, that the first use binds it
// once per binding with the right ids, and that later uses neither bind again nor allocate.
func TestLazyBinding(t *testing.T) {
	type call struct{ kind, region, plan, key string }
	var calls []call
	counter := quota.New(nil, quota.Options{})
	t.Cleanup(func() { _ = counter.Close(t.Context()) })
	entries := map[string]*quota.Entry{}
	b := Binder{
		QuotaEntry: func(region, planID, keyID string) *quota.Entry {
			calls = append(calls, call{"quota", region, planID, keyID})
			e := counter.Entry(region, planID, keyID)
			entries[planID+"/"+keyID] = e
			return e
		},
		Meter: meter.New(nil, meter.Options{}),
	}
	s := Build(multiInput(map[string][]string{"pa": {"k1", "k2"}, "pq": {"k1"}}, nil), b)
	if len(calls) != 0 || b.Meter.Counters() != 0 {
		t.Fatalf("Build bound %d states and %d counters, want none: %v", len(calls), b.Meter.Counters(), calls)
	}
	api := s.API("api1")
	k1 := api.Region.Key(HashKey("v1"))
	onA, onB := k1.Binding(api.Stage("a")), k1.Binding(api.Stage("b"))
	if onA.Quota() != nil {
		t.Error("plan without a quota has a quota entry")
	}
	if u := onA.Usage(); u == nil || u.KeyID() != "k1" {
		t.Errorf("usage counter %+v, want one of k1", u)
	}
	if q := onB.Quota(); q == nil || q != entries["pq/k1"] {
		t.Errorf("quota entry %p, want %p", q, entries["pq/k1"])
	}
	want := []call{{"quota", "us-east-1", "pq", "k1"}}
	if fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Fatalf("binder calls %v, want %v", calls, want)
	}
	if n := testing.AllocsPerRun(100, func() {
		_ = onB.Quota()
		onB.Usage().Add(t0)
	}); n != 0 {
		t.Errorf("bound use allocates %v times", n)
	}
	if len(calls) != len(want) {
		t.Errorf("binder called again: %v", calls[len(want):])
	}
	// One counter for each plan the key was used in, counting where it was used.
	if n := b.Meter.Counters(); n != 2 {
		t.Errorf("the meter has %d counters, want 2 (k1 in pa and in pq)", n)
	}
	got := b.Meter.Pending("us-east-1", "pq")
	if len(got) != 1 || len(got["k1"]) != 1 || got["k1"][dayOf(t0)] != 101 {
		t.Errorf("pq's pending usage %v, want k1's 101 requests on %v", got, dayOf(t0))
	}
	if got := b.Meter.Pending("us-east-1", "pa"); len(got) != 0 {
		t.Errorf("pa's pending usage %v, want none", got)
	}
}

func TestQuotaPolicies(t *testing.T) {
	start := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	s := Build(multiInput(map[string][]string{"pq": {"k1", "k2"}, "pa": {"k1"}},
		map[string]map[string]Override{"pq": {"k2": {PeriodStart: start, Allowance: 3}}}), Binder{})
	api := s.API("api1")
	b1 := api.Region.Key(HashKey("v1")).Binding(api.Stage("b"))
	b2 := api.Region.Key(HashKey("v2")).Binding(api.Stage("b"))
	a1 := api.Region.Key(HashKey("v1")).Binding(api.Stage("a"))
	for _, tc := range []struct {
		name string
		got  *quota.Policy
		want *quota.Policy
	}{
		{"plain key", b1.Policy, &quota.Policy{Quota: apigw.Quota{Limit: 10, Period: apigw.PeriodDay}}},
		{"overridden key", b2.Policy, &quota.Policy{Quota: apigw.Quota{Limit: 10, Period: apigw.PeriodDay}, OverrideStart: start, Override: 3}},
		{"plan without a quota", a1.Policy, nil},
	} {
		if fmt.Sprint(tc.got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: policy %+v, want %+v", tc.name, tc.got, tc.want)
		}
	}
	if b1.Policy == b2.Policy {
		t.Error("the override leaked into the plan's shared policy")
	}
}

// TestConcurrentFirstUse races first requests on one key, through one binding and through the
// bindings of two snapshots: they all see the same state.
func TestConcurrentFirstUse(t *testing.T) {
	counter := quota.New(nil, quota.Options{})
	t.Cleanup(func() { _ = counter.Close(t.Context()) })
	binder := Binder{States: NewKeyStates(), QuotaEntry: counter.Entry}
	var bs []*Binding
	for range 2 {
		s := Build(multiInput(map[string][]string{"pq": {"k1"}}, nil), binder)
		api := s.API("api1")
		bs = append(bs, api.Region.Key(HashKey("v1")).Binding(api.Stage("b")))
	}
	const n = 8
	got := make(chan *quota.Entry, n)
	for i := range n {
		go func() { got <- bs[i%2].Quota() }()
	}
	want := <-got
	for range n - 1 {
		if e := <-got; e != want || e == nil {
			t.Fatalf("entry %p, want %p", e, want)
		}
	}
}

// TestKeyStatesOutliveSnapshots: with a KeyStates table, a key's quota entry, usage counter and
// plan bucket are made once per key and plan and found again by every later snapshot; other
// keys and plans get their own. Without one, each snapshot starts afresh.
func TestKeyStatesOutliveSnapshots(t *testing.T) {
	counter := quota.New(nil, quota.Options{})
	t.Cleanup(func() { _ = counter.Close(t.Context()) })
	made := map[string]int{}
	binder := Binder{
		States: NewKeyStates(),
		QuotaEntry: func(region, planID, keyID string) *quota.Entry {
			made["quota "+planID+"/"+keyID]++
			return counter.Entry(region, planID, keyID)
		},
		Meter:  meter.New(nil, meter.Options{}),
		Bucket: limit.NewLocal().Bucket,
	}
	type state struct {
		q *quota.Entry
		u *meter.KeyCounter
		b *limit.Bucket
	}
	use := func(binder Binder) map[string]state {
		in := multiInput(map[string][]string{"pa": {"k1", "k2"}, "pq": {"k1"}}, nil)
		for i := range in.Regions[0].Plans {
			in.Regions[0].Plans[i].Throttle = &apigw.Throttle{RateLimit: 1, BurstLimit: 5}
		}
		s := Build(in, binder)
		api := s.API("api1")
		got := map[string]state{}
		for _, c := range []struct{ name, value, stage string }{{"pa/k1", "v1", "a"}, {"pa/k2", "v2", "a"}, {"pq/k1", "v1", "b"}} {
			b := api.Region.Key(HashKey(c.value)).Binding(api.Stage(c.stage))
			got[c.name] = state{b.Quota(), b.Usage(), b.Throttle(t0.UnixNano())}
		}
		return got
	}
	first, second := use(binder), use(binder)
	if fmt.Sprint(first) != fmt.Sprint(second) {
		t.Errorf("a later snapshot found other state:\n%v\n%v", first, second)
	}
	if first["pa/k1"] == first["pa/k2"] || first["pa/k1"] == first["pq/k1"] {
		t.Errorf("two keys or two plans share state: %v", first)
	}
	for _, s := range first {
		if s.u == nil || s.b == nil {
			t.Errorf("state not bound: %+v", s)
		}
	}
	want := map[string]int{"quota pq/k1": 1}
	if fmt.Sprint(made) != fmt.Sprint(want) {
		t.Errorf("made %v, want %v", made, want)
	}
	if n := binder.Meter.Counters(); n != 3 {
		t.Errorf("the meter has %d counters, want 3", n)
	}
	for name, s := range first {
		if s.u.KeyID() != name[len("pa/"):] {
			t.Errorf("%s counts key %q", name, s.u.KeyID())
		}
	}
	if n := binder.States.Len(); n != 3 {
		t.Errorf("KeyStates holds %d states, want 3", n)
	}
	binder.States = nil
	if a, b := use(binder), use(binder); a["pq/k1"] == b["pq/k1"] {
		t.Error("without KeyStates two snapshots shared state")
	}
}

// TestBoundBucketsFollowSnapshots: a key's plan bucket and the account bucket are bound from the
// in-process limiter on first use; a later snapshot with other limits binds the same bucket,
// reconfigured: the tokens it holds are kept, up to the new burst, and the new limits apply at
// once.
func TestBoundBucketsFollowSnapshots(t *testing.T) {
	lim := limit.NewLocal()
	binder := Binder{Bucket: lim.Bucket, States: NewKeyStates()}
	build := func(burst int64) (*Binding, *Region) {
		in := keyedInput(1)
		in.Regions[0].Throttle = apigw.Throttle{RateLimit: 0, BurstLimit: burst + 1}
		in.Regions[0].Plans[0].Throttle = &apigw.Throttle{RateLimit: 0, BurstLimit: burst}
		s := Build(in, binder)
		api := s.API("api1")
		return api.Region.Key(HashKey(fmt.Sprintf("value-%020d", 0))).Binding(api.Stage("dev")), api.Region
	}
	b1, r1 := build(3)
	bk := b1.Throttle(t0.UnixNano())
	if bk == nil || r1.AccountBucket(t0.UnixNano()) == nil {
		t.Fatal("no bucket bound")
	}
	if _, burst := bk.Limits(); burst != 3 {
		t.Fatalf("plan bucket burst %d, want 3", burst)
	}
	if !bk.Decide(t0.UnixNano()).Allowed { // 2 tokens left
		t.Fatal("first request refused")
	}
	b2, r2 := build(1)
	if b2.Throttle(t0.UnixNano()) != bk {
		t.Fatal("the new snapshot bound another bucket: its state would be lost")
	}
	if _, burst := r2.AccountBucket(t0.UnixNano()).Limits(); burst != 2 {
		t.Fatalf("account bucket burst %d after the change, want 2", burst)
	}
	for i, want := range []bool{true, false} { // the 2 tokens held are capped at the new burst 1
		if got := bk.Decide(t0.UnixNano()).Allowed; got != want {
			t.Fatalf("request %d under burst 1: allowed %v", i, got)
		}
	}
	if (&Binding{Plan: &Plan{binder: &Binder{}, Throttle: &apigw.Throttle{BurstLimit: 1}}}).Throttle(t0.UnixNano()) != nil {
		t.Fatal("a binder without Bucket bound a bucket")
	}
}
