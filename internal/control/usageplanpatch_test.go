package control

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/store"
	"github.com/tollgate/tollgate/internal/store/sqlite"
	"github.com/tollgate/tollgate/internal/store/storetest"
)

const planTestRegion = "us-east-1"

var planTestNow = time.Date(2026, 9, 13, 12, 0, 0, 0, time.UTC)

// planFixture is a Service over a fresh SQLite store holding REST API api1 (stages dev, prod) and
// api2 (stage dev).
type planFixture struct {
	t   *testing.T
	svc *Service
	st  store.Store
	now time.Time
}

func newPlanFixture(t *testing.T) *planFixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "plans.db"), storetest.Keys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &planFixture{t: t, st: st, now: planTestNow}
	f.svc = New(st, Config{AccountID: "123456789012"}, func() time.Time { return f.now })
	f.seedStage("api1", "dev", "prod")
	f.seedStage("api2", "dev")
	return f
}

// seedStage stores a REST API with one deployment and the named stages.
func (f *planFixture) seedStage(apiID string, stages ...string) {
	f.t.Helper()
	err := f.st.Update(context.Background(), planTestRegion, func(tx store.Tx) error {
		if err := tx.PutRestApi(&apigw.RestApi{ID: apiID, Name: apiID, ApiKeySource: apigw.ApiKeySourceHeader, RootResourceID: "root" + apiID,
			Resources: []*apigw.Resource{{ID: "root" + apiID}}}); err != nil {
			return err
		}
		if err := tx.PutDeployment(&apigw.Deployment{ID: "dep" + apiID, ApiID: apiID}); err != nil {
			return err
		}
		for _, s := range stages {
			if err := tx.PutStage(&apigw.Stage{ApiID: apiID, StageName: s, DeploymentID: "dep" + apiID}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

// seedKey stores an API key and adds it to the given plans directly (bypassing the checks).
func (f *planFixture) seedKey(id string, planIDs ...string) {
	f.t.Helper()
	err := f.st.Update(context.Background(), planTestRegion, func(tx store.Tx) error {
		if err := tx.PutApiKey(&apigw.ApiKey{ID: id, Value: id + "-value-0123456789abcdef", Name: id}); err != nil {
			return err
		}
		for _, p := range planIDs {
			if err := tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: p, KeyID: id}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

// basePlan creates: throttle 10/5.0, quota 100/0/DAY, stage api1:dev with /pets/GET throttled.
func (f *planFixture) basePlan() *apigw.UsagePlan {
	f.t.Helper()
	p, err := f.svc.CreateUsagePlan(context.Background(), planTestRegion, CreateUsagePlanInput{
		Name:      "base",
		ApiStages: []apigw.ApiStage{{ApiID: "api1", Stage: "dev", Throttle: map[string]apigw.Throttle{"/pets/GET": {BurstLimit: 1, RateLimit: 1}}}},
		Throttle:  &apigw.Throttle{BurstLimit: 10, RateLimit: 5},
		Quota:     &apigw.Quota{Limit: 100, Period: apigw.PeriodDay},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *planFixture) get(id string) *apigw.UsagePlan {
	f.t.Helper()
	p, err := f.svc.GetUsagePlan(context.Background(), planTestRegion, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func op(o, path, value string) patch.Op {
	return patch.Op{Op: o, Path: path, Value: &value, HasValue: true}
}

func opNoValue(o, path string) patch.Op { return patch.Op{Op: o, Path: path} }

// wantErr asserts an *apigw.Error of the given kind and exact message.
func wantErr(t *testing.T, err error, kind apigw.Kind, msg string) {
	t.Helper()
	e, ok := err.(*apigw.Error)
	if !ok {
		t.Fatalf("got error %v (%T), want %v %q", err, err, kind, msg)
	}
	if e.Kind != kind || e.Message != msg {
		t.Fatalf("got %v %q, want %v %q", e.Kind, e.Message, kind, msg)
	}
}

const (
	listAdd     = "[/apiStages, /productCode, /quota/limit, /quota/offset, /quota/period, /throttle/burstLimit, /throttle/rateLimit]"
	listReplace = "[/name, /description, /productCode, /quota/limit, /quota/offset, /quota/period, /throttle/burstLimit, /throttle/rateLimit, /apiStages/<apidId:stageName>/throttle, /apiStages/<apidId:stageName>/throttle/<resourcePath>/<httpMethod>/rateLimit, /apiStages/<apidId:stageName>/throttle/<resourcePath>/<httpMethod>/burstLimit]"
	listRemove  = "[/apiStages, /quota, /throttle, /productCode, /apiStages/<apidId:stageName>/throttle/<resourcePath>/<httpMethod>, /apiStages/<apidId:stageName>/throttle]"
)

// TestUpdateUsagePlanTable covers the patch table of spec §3.4. Each case starts from basePlan;
// "%p" in a wanted message stands for the plan id. want edits a copy of the base plan into the
// expected result.
func TestUpdateUsagePlanTable(t *testing.T) {
	tests := []struct {
		name    string
		ops     []patch.Op
		kind    apigw.Kind
		msg     string
		want    func(p *apigw.UsagePlan)
		skipMsg bool
	}{
		{name: "replace name", ops: []patch.Op{op("replace", "/name", "renamed")}, want: func(p *apigw.UsagePlan) { p.Name = "renamed" }},
		{name: "replace name empty", ops: []patch.Op{op("replace", "/name", "")}, kind: apigw.KindBadRequest, msg: msgPlanNameEmpty},
		{name: "replace description then clear", ops: []patch.Op{op("replace", "/description", "d"), op("replace", "/description", "")}, want: func(p *apigw.UsagePlan) {}},
		{name: "add productCode", ops: []patch.Op{op("add", "/productCode", "pc-1")}, want: func(p *apigw.UsagePlan) { p.ProductCode = "pc-1" }},
		{name: "replace then remove productCode", ops: []patch.Op{op("replace", "/productCode", "pc"), opNoValue("remove", "/productCode")}, want: func(p *apigw.UsagePlan) {}},
		{name: "add stage", ops: []patch.Op{op("add", "/apiStages", "api1:prod")}, want: func(p *apigw.UsagePlan) {
			p.ApiStages = append(p.ApiStages, apigw.ApiStage{ApiID: "api1", Stage: "prod"})
		}},
		{name: "add stage twice", ops: []patch.Op{op("add", "/apiStages", "api1:dev")}, kind: apigw.KindConflict, msg: "API Stage api1:dev already exists in usage plan %p"},
		{name: "add stage of unknown api", ops: []patch.Op{op("add", "/apiStages", "nope:dev")}, kind: apigw.KindNotFound, msg: "Invalid API identifier specified 123456789012:nope"},
		{name: "add unknown stage", ops: []patch.Op{op("add", "/apiStages", "api1:nope")}, kind: apigw.KindNotFound, msg: "Invalid API Stage {api: api1, stage: nope} specified for usageplan %p"},
		{name: "add stage without value", ops: []patch.Op{opNoValue("add", "/apiStages")}, kind: apigw.KindBadRequest, msg: "Invalid API Stage specified"},
		{name: "add stage two colons", ops: []patch.Op{op("add", "/apiStages", "a:b:c")}, kind: apigw.KindBadRequest, msg: "Invalid API Stage specified"},
		{name: "remove stage without value", ops: []patch.Op{opNoValue("remove", "/apiStages")}, kind: apigw.KindBadRequest, msg: "Invalid API Stage specified"},
		{name: "remove stage without colon", ops: []patch.Op{op("remove", "/apiStages", "api1dev")}, kind: apigw.KindBadRequest, msg: "Invalid API Stage specified"},
		{name: "remove stage not in plan", ops: []patch.Op{op("remove", "/apiStages", "api1:prod")}, kind: apigw.KindNotFound, msg: "Invalid API Stage {api: api1, stage: prod} specified for usageplan %p"},
		{name: "remove unknown api stage", ops: []patch.Op{op("remove", "/apiStages", "zz:top")}, kind: apigw.KindNotFound, msg: "Invalid API Stage {api: zz, stage: top} specified for usageplan %p"},
		{name: "remove stage drops its throttles", ops: []patch.Op{op("remove", "/apiStages", "api1:dev")}, want: func(p *apigw.UsagePlan) { p.ApiStages = nil }},
		{name: "remove and re-add stage", ops: []patch.Op{op("remove", "/apiStages", "api1:dev"), op("add", "/apiStages", "api1:dev")}, want: func(p *apigw.UsagePlan) {
			p.ApiStages = []apigw.ApiStage{{ApiID: "api1", Stage: "dev"}}
		}},
		{name: "remove quota", ops: []patch.Op{opNoValue("remove", "/quota")}, want: func(p *apigw.UsagePlan) { p.Quota, p.QuotaSince = nil, time.Time{} }},
		{name: "replace quota limit", ops: []patch.Op{op("replace", "/quota/limit", "50")}, want: func(p *apigw.UsagePlan) { p.Quota.Limit = 50 }},
		{name: "offset above limit", ops: []patch.Op{op("replace", "/quota/offset", "200")}, kind: apigw.KindBadRequest, msg: msgPlanQuotaOffset},
		{name: "negative offset", ops: []patch.Op{op("add", "/quota/offset", "-1")}, kind: apigw.KindBadRequest, msg: msgPlanQuotaOffset},
		{name: "offset checked against final limit", ops: []patch.Op{op("replace", "/quota/offset", "150"), op("replace", "/quota/limit", "200")}, want: func(p *apigw.UsagePlan) {
			p.Quota.Offset, p.Quota.Limit = 150, 200
		}},
		{name: "lower limit below offset", ops: []patch.Op{op("replace", "/quota/offset", "50"), op("replace", "/quota/limit", "10")}, kind: apigw.KindBadRequest, msg: msgPlanQuotaOffset},
		{name: "bad period", ops: []patch.Op{op("replace", "/quota/period", "YEAR")}, kind: apigw.KindBadRequest, msg: "Invalid quota period specified: YEAR. Must be one of: [DAY, WEEK, MONTH]"},
		{name: "period WEEK", ops: []patch.Op{op("add", "/quota/period", "WEEK")}, want: func(p *apigw.UsagePlan) { p.Quota.Period = apigw.PeriodWeek }},
		{name: "limit not a number", ops: []patch.Op{op("replace", "/quota/limit", "abc")}, kind: apigw.KindBadRequest, msg: "Invalid value 'abc' specified for /quota/limit: must be a non-negative integer"},
		{name: "negative limit", ops: []patch.Op{op("replace", "/quota/limit", "-5")}, kind: apigw.KindBadRequest, msg: "Invalid value '-5' specified for /quota/limit: must be a non-negative integer"},
		{name: "remove throttle with method throttles", ops: []patch.Op{opNoValue("remove", "/throttle")}, kind: apigw.KindBadRequest, msg: msgPlanFineGrain},
		{name: "remove throttle and method throttles", ops: []patch.Op{opNoValue("remove", "/throttle"), opNoValue("remove", "/apiStages/api1:dev/throttle")}, want: func(p *apigw.UsagePlan) {
			p.Throttle, p.ApiStages[0].Throttle = nil, nil
		}},
		{name: "fractional rate", ops: []patch.Op{op("replace", "/throttle/rateLimit", "0.1")}, want: func(p *apigw.UsagePlan) { p.Throttle.RateLimit = 0.1 }},
		{name: "fractional burst", ops: []patch.Op{op("replace", "/throttle/burstLimit", "1.5")}, kind: apigw.KindBadRequest, msg: "Invalid value '1.5' specified for /throttle/burstLimit: must be a non-negative integer"},
		{name: "negative rate", ops: []patch.Op{op("add", "/throttle/rateLimit", "-1")}, kind: apigw.KindBadRequest, msg: "Invalid value '-1' specified for /throttle/rateLimit: must be a non-negative number"},
		{name: "terraform method rate", ops: []patch.Op{op("replace", "/apiStages/api1:dev/throttle//test/GET/rateLimit", "3")}, want: func(p *apigw.UsagePlan) {
			p.ApiStages[0].Throttle["/test/GET"] = apigw.Throttle{RateLimit: 3}
		}},
		{name: "escaped method burst updates entry", ops: []patch.Op{op("add", "/apiStages/api1:dev/throttle/~1pets/get/burstLimit", "7")}, want: func(p *apigw.UsagePlan) {
			p.ApiStages[0].Throttle["/pets/GET"] = apigw.Throttle{BurstLimit: 7, RateLimit: 1}
		}},
		{name: "root and wildcard", ops: []patch.Op{op("replace", "/apiStages/api1:dev/throttle///GET/rateLimit", "2"), op("replace", "/apiStages/api1:dev/throttle/*/*/burstLimit", "4")}, want: func(p *apigw.UsagePlan) {
			p.ApiStages[0].Throttle["//GET"] = apigw.Throttle{RateLimit: 2}
			p.ApiStages[0].Throttle["*/*"] = apigw.Throttle{BurstLimit: 4}
		}},
		{name: "replace whole map", ops: []patch.Op{op("replace", "/apiStages/api1:dev/throttle", `{"/a/get":{"rateLimit":1.5,"burstLimit":2},"*/*":{"burstLimit":3}}`)}, want: func(p *apigw.UsagePlan) {
			p.ApiStages[0].Throttle = map[string]apigw.Throttle{"/a/GET": {BurstLimit: 2, RateLimit: 1.5}, "*/*": {BurstLimit: 3}}
		}},
		{name: "replace whole map empty", ops: []patch.Op{op("replace", "/apiStages/api1:dev/throttle", `{}`)}, want: func(p *apigw.UsagePlan) { p.ApiStages[0].Throttle = nil }},
		{name: "replace whole map bad json", ops: []patch.Op{op("replace", "/apiStages/api1:dev/throttle", `{`)}, kind: apigw.KindBadRequest, msg: "Invalid method throttle settings specified: {"},
		{name: "replace whole map bad key", ops: []patch.Op{op("replace", "/apiStages/api1:dev/throttle", `{"pets/GET":{}}`)}, kind: apigw.KindBadRequest, msg: "Invalid method throttle path specified: pets/GET. Must be <resourcePath>/<httpMethod> or */*"},
		{name: "replace whole map duplicate key", ops: []patch.Op{op("replace", "/apiStages/api1:dev/throttle", `{"/a/get":{},"/a/GET":{}}`)}, kind: apigw.KindBadRequest, msg: "Method throttle path /a/GET is specified more than once"},
		{name: "remove one method throttle", ops: []patch.Op{op("remove", "/apiStages/api1:dev/throttle/~1pets/GET", "")}, want: func(p *apigw.UsagePlan) { p.ApiStages[0].Throttle = nil }},
		{name: "remove absent method throttle", ops: []patch.Op{opNoValue("remove", "/apiStages/api1:dev/throttle//other/GET")}, want: func(p *apigw.UsagePlan) {}},
		{name: "method throttle on stage not in plan", ops: []patch.Op{op("replace", "/apiStages/api1:prod/throttle//x/GET/rateLimit", "1")}, kind: apigw.KindNotFound, msg: "Invalid API Stage {api: api1, stage: prod} specified for usageplan %p"},
		{name: "method throttle on stage added earlier", ops: []patch.Op{op("add", "/apiStages", "api1:prod"), op("replace", "/apiStages/api1:prod/throttle/*/*/burstLimit", "4")}, want: func(p *apigw.UsagePlan) {
			p.ApiStages = append(p.ApiStages, apigw.ApiStage{ApiID: "api1", Stage: "prod", Throttle: map[string]apigw.Throttle{"*/*": {BurstLimit: 4}}})
		}},
		{name: "method throttle field on remove", ops: []patch.Op{opNoValue("remove", "/apiStages/api1:dev/throttle//pets/GET/rateLimit")}, kind: apigw.KindBadRequest,
			msg: "Invalid patch path  '/apiStages/api1:dev/throttle//pets/GET/rateLimit' specified for op 'remove'. Must be one of: " + listRemove},
		{name: "method entry on replace", ops: []patch.Op{op("replace", "/apiStages/api1:dev/throttle//pets/GET", "1")}, kind: apigw.KindBadRequest,
			msg: "Invalid patch path  '/apiStages/api1:dev/throttle//pets/GET' specified for op 'replace'. Must be one of: " + listReplace},
		{name: "whole map on add", ops: []patch.Op{op("add", "/apiStages/api1:dev/throttle", "{}")}, kind: apigw.KindBadRequest,
			msg: "Invalid patch path  '/apiStages/api1:dev/throttle' specified for op 'add'. Must be one of: " + listAdd},
		{name: "malformed stage path", ops: []patch.Op{op("replace", "/apiStages/api1:dev", "x")}, kind: apigw.KindBadRequest,
			msg: "Invalid patch path  '/apiStages/api1:dev' specified for op 'replace'. Must be one of: " + listReplace},
		{name: "add name", ops: []patch.Op{op("add", "/name", "x")}, kind: apigw.KindBadRequest, msg: "Invalid patch path  '/name' specified for op 'add'. Must be one of: " + listAdd},
		{name: "remove name", ops: []patch.Op{opNoValue("remove", "/name")}, kind: apigw.KindBadRequest, msg: "Invalid patch path  '/name' specified for op 'remove'. Must be one of: " + listRemove},
		{name: "replace quota", ops: []patch.Op{op("replace", "/quota", "x")}, kind: apigw.KindBadRequest, msg: "Invalid patch path  '/quota' specified for op 'replace'. Must be one of: " + listReplace},
		{name: "move", ops: []patch.Op{{Op: "move", Path: "/name", From: "/description"}}, kind: apigw.KindBadRequest, msg: "Invalid patch path  '/name' specified for op 'move'. Must be one of: []"},
		{name: "test", ops: []patch.Op{op("test", "/name", "base")}, kind: apigw.KindBadRequest, msg: "Invalid patch path  '/name' specified for op 'test'. Must be one of: []"},
		{name: "all or nothing", ops: []patch.Op{op("replace", "/name", "changed"), op("replace", "/quota/limit", "x")}, kind: apigw.KindBadRequest, skipMsg: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newPlanFixture(t)
			base := f.basePlan()
			got, err := f.svc.UpdateUsagePlan(context.Background(), planTestRegion, base.ID, tc.ops)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("no error, plan %+v", got)
				}
				if tc.skipMsg {
					if apigw.KindOf(err) != tc.kind {
						t.Fatalf("got %v, want kind %v", err, tc.kind)
					}
				} else {
					wantErr(t, err, tc.kind, replacePlanID(tc.msg, base.ID))
				}
				if stored := f.get(base.ID); !reflect.DeepEqual(normPlan(stored), normPlan(base)) {
					t.Fatalf("failed update changed the plan:\n got %+v\nwant %+v", stored, base)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := clonePlan(base)
			tc.want(want)
			want.Rev = got.Rev
			if !reflect.DeepEqual(normPlan(got), normPlan(want)) {
				t.Fatalf("\n got %+v\nwant %+v", got, want)
			}
			if stored := f.get(base.ID); !reflect.DeepEqual(normPlan(stored), normPlan(want)) {
				t.Fatalf("stored\n got %+v\nwant %+v", stored, want)
			}
		})
	}
}

func replacePlanID(msg, id string) string { return strings.ReplaceAll(msg, "%p", id) }

// normPlan makes empty and nil stage lists and throttle maps compare equal.
func normPlan(p *apigw.UsagePlan) *apigw.UsagePlan {
	c := clonePlan(p)
	if len(c.ApiStages) == 0 {
		c.ApiStages = nil
	}
	for i := range c.ApiStages {
		if len(c.ApiStages[i].Throttle) == 0 {
			c.ApiStages[i].Throttle = nil
		}
	}
	c.QuotaSince = c.QuotaSince.UTC()
	c.CreatedDate = c.CreatedDate.UTC()
	return c
}

func TestUpdateUsagePlanUnknownPlanFirst(t *testing.T) {
	f := newPlanFixture(t)
	_, err := f.svc.UpdateUsagePlan(context.Background(), planTestRegion, "nope00", []patch.Op{op("add", "/name", "x")})
	wantErr(t, err, apigw.KindNotFound, apigw.MsgInvalidUsagePlanID)
}

// The quota's initial period starts when a quota appears on a plan that had none (spec §5.1).
func TestUpdateUsagePlanQuotaSince(t *testing.T) {
	f := newPlanFixture(t)
	ctx := context.Background()
	p, err := f.svc.CreateUsagePlan(ctx, planTestRegion, CreateUsagePlanInput{Name: "noquota"})
	if err != nil {
		t.Fatal(err)
	}
	if !p.QuotaSince.IsZero() {
		t.Fatalf("QuotaSince %v on a plan without quota", p.QuotaSince)
	}
	f.now = planTestNow.Add(time.Hour)
	p, err = f.svc.UpdateUsagePlan(ctx, planTestRegion, p.ID, []patch.Op{op("add", "/quota/limit", "10"), op("add", "/quota/period", "DAY")})
	if err != nil {
		t.Fatal(err)
	}
	if !p.QuotaSince.Equal(f.now) || *p.Quota != (apigw.Quota{Limit: 10, Period: apigw.PeriodDay}) {
		t.Fatalf("after adding a quota: since %v quota %+v", p.QuotaSince, p.Quota)
	}
	since := f.now
	f.now = planTestNow.Add(2 * time.Hour)
	p, err = f.svc.UpdateUsagePlan(ctx, planTestRegion, p.ID, []patch.Op{op("replace", "/quota/limit", "20")})
	if err != nil {
		t.Fatal(err)
	}
	if !f.get(p.ID).QuotaSince.Equal(since) {
		t.Fatalf("changing the limit moved QuotaSince to %v", p.QuotaSince)
	}
}

// Adding a stage must not put a key of the plan into two plans for that stage; the check runs on
// the final state, so removing and re-adding a stage the plan already had is fine.
func TestUpdateUsagePlanStageConflict(t *testing.T) {
	f := newPlanFixture(t)
	ctx := context.Background()
	base := f.basePlan()
	other, err := f.svc.CreateUsagePlan(ctx, planTestRegion, CreateUsagePlanInput{Name: "other", ApiStages: []apigw.ApiStage{{ApiID: "api1", Stage: "prod"}}})
	if err != nil {
		t.Fatal(err)
	}
	f.seedKey("key1", base.ID, other.ID)
	_, err = f.svc.UpdateUsagePlan(ctx, planTestRegion, base.ID, []patch.Op{op("add", "/apiStages", "api1:prod")})
	wantErr(t, err, apigw.KindConflict, "API Key key1 cannot be associated with usage plan "+base.ID+
		" because it is already associated with usage plan "+other.ID+" for stage api1:prod")
	if _, err := f.svc.UpdateUsagePlan(ctx, planTestRegion, base.ID, []patch.Op{
		op("remove", "/apiStages", "api1:dev"), op("add", "/apiStages", "api1:dev"), op("add", "/apiStages", "api2:dev"),
	}); err != nil {
		t.Fatal(err)
	}
}

func TestCheckQuotaOffset(t *testing.T) {
	tests := []struct {
		limit, offset int64
		ok            bool
	}{
		{100, 0, true},
		{100, 100, true},
		{100, 6, true}, // Terraform's WEEK range 0–6
		{0, 0, true},
		{100, 101, false},
		{100, -1, false},
		{0, 1, false},
	}
	for _, tc := range tests {
		err := checkQuotaOffset(apigw.Quota{Limit: tc.limit, Offset: tc.offset})
		if (err == nil) != tc.ok {
			t.Errorf("limit %d offset %d: err %v, want ok=%v", tc.limit, tc.offset, err, tc.ok)
		}
		if err != nil {
			wantErr(t, err, apigw.KindBadRequest, msgPlanQuotaOffset)
		}
	}
}
