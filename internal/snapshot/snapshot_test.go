package snapshot

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
)

// keyedInput is one API with a plan of n keys on its "dev" stage.
func keyedInput(n int) Input {
	res := []*apigw.Resource{{ID: "root"}, {ID: "r1", ParentID: "root", PathPart: "pets",
		Methods: map[string]*apigw.Method{"GET": {HTTPMethod: "GET", ApiKeyRequired: true, Integration: &apigw.Integration{Type: "MOCK"}}}}}
	ri := RegionInput{
		Region:      "us-east-1",
		Apis:        []*apigw.RestApi{{ID: "api1", ApiKeySource: "HEADER"}},
		Deployments: []*apigw.Deployment{{ID: "d1", ApiID: "api1", Resources: res}},
		Stages:      []*apigw.Stage{{ApiID: "api1", StageName: "dev", DeploymentID: "d1"}},
		Plans:       []*apigw.UsagePlan{{ID: "p1", ApiStages: []apigw.ApiStage{{ApiID: "api1", Stage: "dev"}}}},
		PlanKeys:    map[string][]string{},
	}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("key%06d", i)
		ri.Keys = append(ri.Keys, KeyInput{ID: id, Hash: HashKey(fmt.Sprintf("value-%020d", i)), Enabled: true})
		ri.PlanKeys["p1"] = append(ri.PlanKeys["p1"], id)
	}
	return Input{Regions: []RegionInput{ri}}
}

func TestBuildBindsKeysToStages(t *testing.T) {
	s := Build(keyedInput(3), Binder{})
	api := s.API("api1")
	st := api.Stage("dev")
	k := api.Region.Key(HashKey(fmt.Sprintf("value-%020d", 1)))
	if k == nil || k.ID != "key000001" || !k.Enabled {
		t.Fatalf("key lookup: %+v", k)
	}
	if b := k.Binding(st); b == nil || b.Plan.ID != "p1" || b.KeyID() != "key000001" {
		t.Fatalf("binding: %+v", b)
	}
	if api.Region.Key(HashKey("unknown-value-000000000")) != nil {
		t.Fatal("unknown value found")
	}
	if s.API("nope") != nil || api.Stage("prod") != nil {
		t.Fatal("unknown api or stage found")
	}
}

// BenchmarkKeyLookup is the per-request key check: hash the header value, look it up, find the
// stage binding.
func BenchmarkKeyLookup(b *testing.B) {
	s := Build(keyedInput(10000), Binder{})
	api := s.API("api1")
	st := api.Stage("dev")
	value := fmt.Sprintf("value-%020d", 4242)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := api.Region.Key(HashKey(value))
		if k == nil || k.Binding(st) == nil {
			b.Fatal("not found")
		}
	}
}

// BenchmarkKeyLookupMillion looks up keys in a random order among a million: what a request
// pays for the key index when the keys called are many (each lookup a cache miss), where
// BenchmarkKeyLookup's one key stays in the cache.
func BenchmarkKeyLookupMillion(b *testing.B) {
	const n = 1_000_000
	s := Build(keyedInput(n), Binder{})
	api := s.API("api1")
	hashes := make([][32]byte, n)
	for i, j := range rand.Perm(n) {
		hashes[i] = HashKey(fmt.Sprintf("value-%020d", j))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if api.Region.Key(hashes[i%n]) == nil {
			b.Fatal("not found")
		}
	}
}

// BenchmarkBuild10k compiles a snapshot with 10,000 keys (what a configuration change costs).
func BenchmarkBuild10k(b *testing.B) {
	in := keyedInput(10000)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Build(in, Binder{})
	}
}

// Build takes the keys of Keys and of KeyPages alike, binds them to their plans, and drops each
// page from its input once copied.
func TestBuildTakesKeyPages(t *testing.T) {
	in := keyedInput(10)
	ri := &in.Regions[0]
	ri.KeyPages = [][]KeyInput{ri.Keys[2:5], ri.Keys[5:]}
	ri.Keys = ri.Keys[:2]
	if ri.KeyCount() != 10 {
		t.Fatalf("KeyCount %d, want 10", ri.KeyCount())
	}
	s := Build(in, Binder{})
	api := s.API("api1")
	for i := range 10 {
		k := api.Region.Key(HashKey(fmt.Sprintf("value-%020d", i)))
		if k == nil || k.ID != fmt.Sprintf("key%06d", i) || k.Binding(api.Stage("dev")) == nil {
			t.Fatalf("key %d: %+v", i, k)
		}
	}
	for j, p := range ri.KeyPages {
		if p != nil {
			t.Errorf("page %d still in the input after the build", j)
		}
	}
}
