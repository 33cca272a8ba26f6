package control

import (
	"reflect"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/store"
)

func stageOp(o, path, value string) patch.Op {
	return patch.Op{Op: o, Path: path, Value: &value, HasValue: true}
}

func TestParseMethodSettingPath(t *testing.T) {
	tests := []struct {
		path, key, setting string
		ok                 bool
	}{
		{"/*/*/throttling/rateLimit", "*/*", "throttling/rateLimit", true},
		{"/test/GET/throttling/burstLimit", "test/GET", "throttling/burstLimit", true},
		{"/~1resourceName/GET/logging/dataTrace", "~1resourceName/GET", "logging/dataTrace", true},
		{"/path1/path2/POST/caching/enabled", "path1/path2/POST", "caching/enabled", true}, // Terraform's raw form
		{"/~1pets~1{id}/delete/metrics/enabled", "~1pets~1{id}/DELETE", "metrics/enabled", true},
		{"/*/GET/metrics/enabled", "", "", false},      // "*" resource goes only with "*" verb
		{"/pets/*/metrics/enabled", "", "", false},     // and "*" verb only with "*" resource
		{"/pets/FETCH/metrics/enabled", "", "", false}, // unknown verb
		{"/pets/GET/metrics/disabled", "", "", false},  // unknown setting
		{"/GET/metrics/enabled", "", "", false},        // no resource path
		{"//GET/metrics/enabled", "", "", false},       // empty resource segment
		{"/*/*/throttling", "", "", false},             // too short
		{"*/*/throttling/rateLimit", "", "", false},    // no leading slash
		{"/*/*/caching/ttlinseconds", "", "", false},   // setting names are case-sensitive
		{"/a/b/c/ANY/logging/loglevel", "a/b/c/ANY", "logging/loglevel", true},
	}
	for _, tt := range tests {
		key, setting, ok := parseMethodSettingPath(tt.path)
		if ok != tt.ok || (ok && (key != tt.key || setting != tt.setting)) {
			t.Errorf("parseMethodSettingPath(%q) = %q, %q, %v; want %q, %q, %v", tt.path, key, setting, ok, tt.key, tt.setting, tt.ok)
		}
	}
}

// newStageFixture deploys api1 to stage dev.
func newStageFixture(t *testing.T) *deployFixture {
	f := newDeployFixture(t)
	f.deployed()
	return f
}

func (f *deployFixture) stage(name string) *apigw.Stage {
	f.t.Helper()
	st, err := f.svc.GetStage(f.ctx, deployRegion, "api1", name)
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

// TestUpdateStageMethodSettings follows §2.8: a new entry starts from the defaults (throttles
// from the account), a per-method entry from the current */* one, and */* changes later do not
// reach per-method entries.
func TestUpdateStageMethodSettings(t *testing.T) {
	f := newStageFixture(t)
	defaults := f.svc.defaultMethodSetting()
	steps := []struct {
		ops  []patch.Op
		want map[string]apigw.MethodSetting
	}{
		{[]patch.Op{stageOp("replace", "/*/*/caching/enabled", "true")}, map[string]apigw.MethodSetting{
			"*/*": with(defaults, func(m *apigw.MethodSetting) { m.CachingEnabled = true }),
		}},
		{[]patch.Op{stageOp("replace", "/test/GET/throttling/burstLimit", "123"), stageOp("replace", "/test/GET/throttling/rateLimit", "100.000000")}, map[string]apigw.MethodSetting{
			"*/*": with(defaults, func(m *apigw.MethodSetting) { m.CachingEnabled = true }),
			"test/GET": with(defaults, func(m *apigw.MethodSetting) {
				m.CachingEnabled = true
				m.ThrottlingBurstLimit = 123
				m.ThrottlingRateLimit = 100
			}),
		}},
		{[]patch.Op{stageOp("replace", "/*/*/metrics/enabled", "true"), stageOp("replace", "/*/*/logging/loglevel", "info")}, map[string]apigw.MethodSetting{
			"*/*": with(defaults, func(m *apigw.MethodSetting) {
				m.CachingEnabled = true
				m.MetricsEnabled = true
				m.LoggingLevel = "INFO"
			}),
			"test/GET": with(defaults, func(m *apigw.MethodSetting) {
				m.CachingEnabled = true
				m.ThrottlingBurstLimit = 123
				m.ThrottlingRateLimit = 100
			}),
		}},
		{[]patch.Op{stageOp("remove", "/test/GET/throttling/burstLimit", ""), stageOp("remove", "/*/*/logging/loglevel", "")}, map[string]apigw.MethodSetting{
			"*/*":      with(defaults, func(m *apigw.MethodSetting) { m.CachingEnabled = true; m.MetricsEnabled = true }),
			"test/GET": with(defaults, func(m *apigw.MethodSetting) { m.CachingEnabled = true; m.ThrottlingRateLimit = 100 }),
		}},
		{[]patch.Op{stageOp("remove", "/*/*", "")}, map[string]apigw.MethodSetting{
			"test/GET": with(defaults, func(m *apigw.MethodSetting) { m.CachingEnabled = true; m.ThrottlingRateLimit = 100 }),
		}},
		// Terraform's method_settings destroy, -1 throttles ("unset") kept as sent.
		{[]patch.Op{stageOp("replace", "/a/b/PUT/throttling/burstLimit", "-1"), stageOp("remove", "/test/GET", "")}, map[string]apigw.MethodSetting{
			"a/b/PUT": with(defaults, func(m *apigw.MethodSetting) { m.ThrottlingBurstLimit = -1 }),
		}},
	}
	for i, s := range steps {
		st, err := f.svc.UpdateStage(f.ctx, deployRegion, "api1", "dev", s.ops)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if !reflect.DeepEqual(st.MethodSettings, s.want) {
			t.Fatalf("step %d: methodSettings\n got %+v\nwant %+v", i, st.MethodSettings, s.want)
		}
		if got := f.stage("dev"); !reflect.DeepEqual(got.MethodSettings, s.want) {
			t.Fatalf("step %d: stored methodSettings differ: %+v", i, got.MethodSettings)
		}
	}
}

func with(m apigw.MethodSetting, edit func(*apigw.MethodSetting)) apigw.MethodSetting {
	edit(&m)
	return m
}

// TestUpdateStageAllOrNothing: a failing operation anywhere leaves the stage untouched.
func TestUpdateStageAllOrNothing(t *testing.T) {
	f := newStageFixture(t)
	before := f.stage("dev")
	f.now = f.now.Add(time.Hour)
	_, err := f.svc.UpdateStage(f.ctx, deployRegion, "api1", "dev", []patch.Op{
		stageOp("replace", "/description", "changed"),
		stageOp("replace", "/*/*/metrics/enabled", "true"),
		stageOp("replace", "/deploymentId", "nosuch"),
	})
	wantAPIError(t, err, apigw.KindBadRequest, "Deployment id does not exist")
	if after := f.stage("dev"); !reflect.DeepEqual(before, after) {
		t.Fatalf("stage changed by a failed update:\n%+v\n%+v", before, after)
	}
}

func TestUpdateStageErrors(t *testing.T) {
	tests := []struct {
		name string
		op   patch.Op
		kind apigw.Kind
		msg  string
	}{
		{"remove absent wildcard", stageOp("remove", "/*/*", ""), apigw.KindBadRequest,
			"Cannot remove method setting */* because there is no method setting for this method "},
		{"remove absent method", stageOp("remove", "/~1pets/GET", ""), apigw.KindBadRequest,
			"Cannot remove method setting ~1pets/GET because there is no method setting for this method "},
		{"bad path", stageOp("replace", "/documentation_version", "x"), apigw.KindBadRequest,
			"Invalid method setting path: /documentation_version. Must be one of: " + stagePathList},
		{"tags path", stageOp("add", "/tags/tag1", "x"), apigw.KindBadRequest,
			"Invalid method setting path: /tags/tag1. Must be one of: " + stagePathList},
		{"canary root", stageOp("replace", "/canarySettings", "x"), apigw.KindBadRequest,
			"Invalid method setting path: /canarySettings. Must be one of: " + stagePathList},
		{"canary add", stageOp("add", "/canarySettings/deploymentId", "x"), apigw.KindBadRequest,
			"Invalid add operation with path: /canarySettings/deploymentId"},
		{"access log bad sub-path", stageOp("replace", "/accessLogSettings/foo", "x"), apigw.KindBadRequest,
			"Invalid accessLogSettings path. Must be one of : [/accessLogSettings/destinationArn, /accessLogSettings/format]"},
		{"access log remove unknown", stageOp("remove", "/accessLogSettings/foo", ""), apigw.KindBadRequest,
			"Cannot remove method setting accessLogSettings/foo because there is no method setting for this method "},
		{"access log empty", stageOp("replace", "/accessLogSettings/format", ""), apigw.KindBadRequest,
			"Access Log value must not be empty"},
		{"unknown deployment", stageOp("replace", "/deploymentId", "zzzzzz"), apigw.KindBadRequest, "Deployment id does not exist"},
		{"bad number", stageOp("replace", "/*/*/throttling/burstLimit", "lots"), apigw.KindBadRequest,
			"Invalid value specified for method setting throttling/burstLimit: lots"},
		{"bad cache size", stageOp("replace", "/cacheClusterSize", "2"), apigw.KindBadRequest,
			"Invalid cache cluster size specified: 2. Must be one of: [0.5, 1.6, 6.1, 13.5, 28.4, 58.2, 118, 237]"},
		{"move", patch.Op{Op: "move", Path: "/description", From: "/x"}, apigw.KindBadRequest,
			"Invalid patch path  '/description' specified for op 'move'. Please choose supported operations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newStageFixture(t)
			_, err := f.svc.UpdateStage(f.ctx, deployRegion, "api1", "dev", []patch.Op{tt.op})
			wantAPIError(t, err, tt.kind, tt.msg)
		})
	}
	f := newDeployFixture(t)
	_, err := f.svc.UpdateStage(f.ctx, deployRegion, "api1", "dev", nil)
	wantAPIError(t, err, apigw.KindNotFound, "Invalid stage identifier specified")
}

// TestDeleteStageLeavesUsagePlans: the deleted stage disappears from every plan, with its
// method throttles; other stages and plans are left alone.
func TestDeleteStageLeavesUsagePlans(t *testing.T) {
	f := newStageFixture(t)
	if _, err := f.svc.CreateDeployment(f.ctx, deployRegion, "api1", CreateDeploymentInput{StageName: strPtr("prod")}); err != nil {
		t.Fatal(err)
	}
	f.putAPI(fixtureAPI("api2", map[string][]string{"root": {"GET"}}))
	if _, err := f.svc.CreateDeployment(f.ctx, deployRegion, "api2", CreateDeploymentInput{StageName: strPtr("dev")}); err != nil {
		t.Fatal(err)
	}
	plans := []*apigw.UsagePlan{
		{ID: "plan01", Name: "a", ApiStages: []apigw.ApiStage{
			{ApiID: "api1", Stage: "dev", Throttle: map[string]apigw.Throttle{"/pets/GET": {BurstLimit: 1, RateLimit: 1}}},
			{ApiID: "api1", Stage: "prod"}, {ApiID: "api2", Stage: "dev"},
		}, Throttle: &apigw.Throttle{BurstLimit: 10, RateLimit: 10}},
		{ID: "plan02", Name: "b", ApiStages: []apigw.ApiStage{{ApiID: "api2", Stage: "dev"}}},
	}
	for _, p := range plans {
		if err := f.st.Update(f.ctx, deployRegion, func(tx store.Tx) error { return tx.PutUsagePlan(p) }); err != nil {
			t.Fatal(err)
		}
	}
	wantAPIError(t, f.svc.DeleteStage(f.ctx, deployRegion, "api1", "dev"), 0, "")
	wantAPIError(t, f.svc.DeleteStage(f.ctx, deployRegion, "api1", "dev"), apigw.KindNotFound, "Invalid stage identifier specified")
	err := f.st.View(f.ctx, deployRegion, func(tx store.Tx) error {
		p1, err := tx.GetUsagePlan("plan01")
		if err != nil {
			return err
		}
		want := []apigw.ApiStage{{ApiID: "api1", Stage: "prod"}, {ApiID: "api2", Stage: "dev"}}
		if !reflect.DeepEqual(p1.ApiStages, want) {
			t.Errorf("plan01 stages = %+v, want %+v", p1.ApiStages, want)
		}
		p2, err := tx.GetUsagePlan("plan02")
		if err != nil {
			return err
		}
		if p2.Rev != plans[1].Rev {
			t.Errorf("plan02 was rewritten (rev %d → %d)", plans[1].Rev, p2.Rev)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCreateStage(t *testing.T) {
	f := newStageFixture(t)
	dev := f.stage("dev")
	tests := []struct {
		name string
		in   CreateStageInput
		kind apigw.Kind
		msg  string
	}{
		{"exists", CreateStageInput{StageName: "dev", DeploymentID: dev.DeploymentID}, apigw.KindConflict, "Stage already exists"},
		{"unknown deployment", CreateStageInput{StageName: "s2", DeploymentID: "nosuch"}, apigw.KindBadRequest, "Deployment id does not exist"},
		{"bad name", CreateStageInput{StageName: "a b", DeploymentID: dev.DeploymentID}, apigw.KindBadRequest, "Stage name only allows a-zA-Z0-9_-"},
		{"reserved tag", CreateStageInput{StageName: "s2", DeploymentID: dev.DeploymentID, Tags: map[string]string{"aws:x": "1"}},
			apigw.KindBadRequest, "Tag keys starting with 'aws:' are reserved for AWS use: aws:x"},
		{"canary unknown deployment", CreateStageInput{StageName: "s2", DeploymentID: dev.DeploymentID, CanarySettings: &CanarySettings{DeploymentID: "nosuch"}},
			apigw.KindBadRequest, "Deployment id does not exist"},
		{"ok", CreateStageInput{StageName: "s2", DeploymentID: dev.DeploymentID, Tags: map[string]string{"k": "v"}, CacheClusterEnabled: boolPtr(true)}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := f.svc.CreateStage(f.ctx, deployRegion, "api1", tt.in)
			wantAPIError(t, err, tt.kind, tt.msg)
			if err == nil && (st.Tags["k"] != "v" || st.CacheClusterSize != "0.5" || st.MethodSettings == nil) {
				t.Fatalf("created stage = %+v", st)
			}
		})
	}
	_, err := f.svc.CreateStage(f.ctx, deployRegion, "nosuch", CreateStageInput{StageName: "x", DeploymentID: dev.DeploymentID})
	wantAPIError(t, err, apigw.KindNotFound, "Invalid API identifier specified 123456789012:nosuch")
}
