package awswire

import (
	"encoding/json"
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
)

// The presence rules of spec §2.2 that golden files only show one at a time.
func TestNewUsagePlanPresence(t *testing.T) {
	bare := &apigw.UsagePlan{ID: "abc123", Name: "p"}
	full := &apigw.UsagePlan{
		ID: "abc123", Name: "p",
		ApiStages: []apigw.ApiStage{
			{ApiID: "a", Stage: "s", Throttle: map[string]apigw.Throttle{}},
			{ApiID: "a", Stage: "t", Throttle: map[string]apigw.Throttle{"//GET": {RateLimit: 2}}},
		},
		Throttle: &apigw.Throttle{},
		Quota:    &apigw.Quota{Limit: 5},
		Tags:     map[string]string{"k": "v"},
	}
	empty := &apigw.UsagePlan{ID: "abc123", Name: "p", ApiStages: []apigw.ApiStage{}, Tags: map[string]string{}}
	tests := []struct {
		name string
		p    *apigw.UsagePlan
		tags UsagePlanTags
		want string
	}{
		{"bare, tags never", bare, PlanTagsNone, `{"id":"abc123","name":"p","apiStages":[]}`},
		{"bare, tags if any", bare, PlanTagsIfAny, `{"id":"abc123","name":"p","apiStages":[]}`},
		{"bare, tags always", bare, PlanTagsAlways, `{"id":"abc123","name":"p","apiStages":[],"tags":{}}`},
		{"empty maps, tags if any", empty, PlanTagsIfAny, `{"id":"abc123","name":"p","apiStages":[]}`},
		{"full, tags never", full, PlanTagsNone, `{"id":"abc123","name":"p","apiStages":[{"apiId":"a","stage":"s"},{"apiId":"a","stage":"t","throttle":{"//GET":{"burstLimit":0,"rateLimit":2.0}}}],"throttle":{"burstLimit":0,"rateLimit":0.0},"quota":{"limit":5,"offset":0}}`},
		{"full, tags if any", full, PlanTagsIfAny, `{"id":"abc123","name":"p","apiStages":[{"apiId":"a","stage":"s"},{"apiId":"a","stage":"t","throttle":{"//GET":{"burstLimit":0,"rateLimit":2.0}}}],"throttle":{"burstLimit":0,"rateLimit":0.0},"quota":{"limit":5,"offset":0},"tags":{"k":"v"}}`},
	}
	for _, tc := range tests {
		b, err := json.Marshal(NewUsagePlan(tc.p, tc.tags))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, b, tc.want)
		}
	}
}

func TestNewUsagePlanKeys(t *testing.T) {
	b, _ := json.Marshal(NewUsagePlanKeys(nil, ""))
	if string(b) != `{"item":[]}` {
		t.Errorf("empty list: %s", b)
	}
	b, _ = json.Marshal(NewUsagePlanKeys([]*apigw.ApiKey{{ID: "k1", Value: "v1"}, {ID: "k2", Value: "v2", Name: "n"}}, "cursor"))
	want := `{"item":[{"id":"k1","type":"API_KEY","value":"v1"},{"id":"k2","type":"API_KEY","value":"v2","name":"n"}],"position":"` + EncodePosition("cursor") + `"}`
	if string(b) != want {
		t.Errorf("\n got %s\nwant %s", b, want)
	}
}
