package control

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

func TestParseTagARN(t *testing.T) {
	tests := []struct {
		arn  string
		want tagTarget
		ok   bool
	}{
		{"arn:aws:apigateway:us-east-1::/restapis/a1b2c3d4e5", tagTarget{kind: "restapis", id: "a1b2c3d4e5"}, true},
		{"arn:aws:apigateway:us-east-1::/restapis/a1b2c3d4e5/stages/dev", tagTarget{kind: "restapis", id: "a1b2c3d4e5", stage: "dev"}, true},
		{"arn:aws:apigateway:us-east-1::/apikeys/k1", tagTarget{kind: "apikeys", id: "k1"}, true},
		{"arn:aws-cn:apigateway:us-east-1::/usageplans/p1", tagTarget{kind: "usageplans", id: "p1"}, true},
		{"arn:aws:apigateway:eu-west-1::/restapis/a1", tagTarget{}, false},             // another region
		{"arn:aws:apigateway:us-east-1:123456789012:/restapis/a1", tagTarget{}, false}, // account present
		{"arn:aws:execute-api:us-east-1::/restapis/a1", tagTarget{}, false},
		{"arn:aws:apigateway:us-east-1::restapis/a1", tagTarget{}, false},
		{"arn:aws:apigateway:us-east-1::/restapis/", tagTarget{}, false},
		{"arn:aws:apigateway:us-east-1::/restapis/a1/stages", tagTarget{}, false},
		{"arn:aws:apigateway:us-east-1::/restapis/a1/resources/r1", tagTarget{}, false},
		{"arn:aws:apigateway:us-east-1::/domainnames/example.com", tagTarget{}, false},
		{"not-an-arn", tagTarget{}, false},
		{"", tagTarget{}, false},
	}
	for _, tt := range tests {
		got, err := parseTagARN(tt.arn, "us-east-1")
		if tt.ok {
			if err != nil || got != tt.want {
				t.Errorf("parseTagARN(%q) = %+v, %v; want %+v", tt.arn, got, err, tt.want)
			}
			continue
		}
		wantAPIError(t, err, apigw.KindBadRequest, "Invalid ARN specified in the request")
	}
}

func manyTags(n int, prefix string) map[string]string {
	out := map[string]string{}
	for i := range n {
		out[fmt.Sprintf("%s%02d", prefix, i)] = "v"
	}
	return out
}

func TestTagLimits(t *testing.T) {
	const arn = "arn:aws:apigateway:us-east-1::/restapis/api1"
	tests := []struct {
		name     string
		existing map[string]string
		add      map[string]string
		msg      string
	}{
		{"50 tags", nil, manyTags(50, "k"), ""},
		{"51 tags", nil, manyTags(51, "k"), "Too many tags: a resource can have at most 50 tags"},
		{"50 after merge with overlap", manyTags(30, "k"), manyTags(50, "k"), ""},
		{"51 after merge", manyTags(30, "a"), manyTags(21, "b"), "Too many tags: a resource can have at most 50 tags"},
		{"128-character key (multi-byte)", nil, map[string]string{strings.Repeat("é", 128): ""}, ""},
		{"129-character key", nil, map[string]string{strings.Repeat("k", 129): "v"}, "Tag key must be between 1 and 128 characters long: " + strings.Repeat("k", 129)},
		{"empty key", nil, map[string]string{"": "v"}, "Tag key must be between 1 and 128 characters long: "},
		{"256-character value", nil, map[string]string{"k": strings.Repeat("v", 256)}, ""},
		{"257-character value", nil, map[string]string{"k": strings.Repeat("v", 257)}, "Tag value of key k must be at most 256 characters long"},
		{"reserved prefix", nil, map[string]string{"AWS:cloudformation:stack": "x"}, "Tag keys starting with 'aws:' are reserved for AWS use: AWS:cloudformation:stack"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newDeployFixture(t)
			api := fixtureAPI("api1", nil)
			api.Tags = tt.existing
			f.putAPI(api)
			err := f.svc.TagResource(f.ctx, deployRegion, arn, tt.add)
			wantAPIError(t, err, apigw.KindBadRequest, tt.msg)
			got, gerr := f.svc.GetTags(f.ctx, deployRegion, arn)
			if gerr != nil {
				t.Fatal(gerr)
			}
			want := map[string]string{}
			for k, v := range tt.existing {
				want[k] = v
			}
			if err == nil {
				for k, v := range tt.add {
					want[k] = v
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("tags = %v, want %v", got, want)
			}
		})
	}
}

// TestTagEachResourceType tags, reads and untags every taggable resource, through the domain
// object each one lives on, and checks each unknown target's own 404 text.
func TestTagEachResourceType(t *testing.T) {
	f := newStageFixture(t)
	err := f.st.Update(f.ctx, deployRegion, func(tx store.Tx) error {
		if err := tx.PutApiKey(&apigw.ApiKey{ID: "key0000001", Value: "key0000001-value-0123456789"}); err != nil {
			return err
		}
		return tx.PutUsagePlan(&apigw.UsagePlan{ID: "plan01", Name: "p"})
	})
	if err != nil {
		t.Fatal(err)
	}
	const base = "arn:aws:apigateway:us-east-1::"
	targets := []struct {
		arn, missingArn, missingMsg string
		stored                      func(tx store.Tx) (map[string]string, error)
	}{
		{base + "/restapis/api1", base + "/restapis/nosuch", "Invalid API identifier specified 123456789012:nosuch",
			func(tx store.Tx) (map[string]string, error) { a, err := tx.GetRestApi("api1"); return tagsOf(a, err) }},
		{base + "/restapis/api1/stages/dev", base + "/restapis/api1/stages/nosuch", "Invalid stage identifier specified",
			func(tx store.Tx) (map[string]string, error) {
				s, err := tx.GetStage("api1", "dev")
				return tagsOf(s, err)
			}},
		{base + "/apikeys/key0000001", base + "/apikeys/nosuch", "Invalid API Key identifier specified",
			func(tx store.Tx) (map[string]string, error) {
				k, err := tx.GetApiKey("key0000001")
				return tagsOf(k, err)
			}},
		{base + "/usageplans/plan01", base + "/usageplans/nosuch", "Invalid Usage Plan ID specified",
			func(tx store.Tx) (map[string]string, error) {
				p, err := tx.GetUsagePlan("plan01")
				return tagsOf(p, err)
			}},
	}
	for _, tg := range targets {
		t.Run(tg.arn, func(t *testing.T) {
			wantAPIError(t, f.svc.TagResource(f.ctx, deployRegion, tg.arn, map[string]string{"a": "1", "b": "2"}), 0, "")
			wantAPIError(t, f.svc.TagResource(f.ctx, deployRegion, tg.arn, map[string]string{"b": "3"}), 0, "")
			wantAPIError(t, f.svc.UntagResource(f.ctx, deployRegion, tg.arn, []string{"a", "absent"}), 0, "")
			var stored map[string]string
			if err := f.st.View(f.ctx, deployRegion, func(tx store.Tx) (err error) { stored, err = tg.stored(tx); return err }); err != nil {
				t.Fatal(err)
			}
			got, err := f.svc.GetTags(f.ctx, deployRegion, tg.arn)
			if err != nil || !reflect.DeepEqual(got, map[string]string{"b": "3"}) || !reflect.DeepEqual(stored, got) {
				t.Fatalf("GetTags = %v, %v; stored %v; want {b:3}", got, err, stored)
			}
			wantAPIError(t, f.svc.UntagResource(f.ctx, deployRegion, tg.arn, []string{"b"}), 0, "")
			if got, _ := f.svc.GetTags(f.ctx, deployRegion, tg.arn); got == nil || len(got) != 0 {
				t.Fatalf("after removing all tags GetTags = %#v, want empty non-nil", got)
			}
			for _, call := range []error{
				f.svc.TagResource(f.ctx, deployRegion, tg.missingArn, map[string]string{"a": "1"}),
				f.svc.UntagResource(f.ctx, deployRegion, tg.missingArn, []string{"a"}),
				func() error { _, err := f.svc.GetTags(f.ctx, deployRegion, tg.missingArn); return err }(),
			} {
				wantAPIError(t, call, apigw.KindNotFound, tg.missingMsg)
			}
		})
	}
}

// tagsOf reads the Tags field of a stored domain object.
func tagsOf[T interface {
	*apigw.RestApi | *apigw.Stage | *apigw.ApiKey | *apigw.UsagePlan
}](v T, err error) (map[string]string, error) {
	if err != nil {
		return nil, err
	}
	switch x := any(v).(type) {
	case *apigw.RestApi:
		return x.Tags, nil
	case *apigw.Stage:
		return x.Tags, nil
	case *apigw.ApiKey:
		return x.Tags, nil
	case *apigw.UsagePlan:
		return x.Tags, nil
	}
	return nil, nil
}
