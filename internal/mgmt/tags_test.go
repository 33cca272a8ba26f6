package mgmt

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

// tagPath is /tags/<arn> with the ARN percent-encoded as one segment, as the SDKs send it.
func tagPath(arn string) string {
	return "/tags/" + strings.NewReplacer(":", "%3A", "/", "%2F").Replace(arn)
}

func TestTagsAPI(t *testing.T) {
	h := newDeployHarness(t)
	h.mustCreateDeployment(`{"stageName":"dev"}`)
	h.put(func(tx store.Tx) error {
		if err := tx.PutApiKey(&apigw.ApiKey{ID: "key0000001", Value: "key0000001-value-0123456789", Name: "k", CreatedDate: fixedNow, LastUpdatedDate: fixedNow}); err != nil {
			return err
		}
		return tx.PutUsagePlan(&apigw.UsagePlan{ID: "plan01", Name: "p", CreatedDate: fixedNow})
	})
	const arn = "arn:aws:apigateway:us-east-1::"
	api, stage := tagPath(arn+"/restapis/a1b2c3d4e5"), tagPath(arn+"/restapis/a1b2c3d4e5/stages/dev")
	key, plan := tagPath(arn+"/apikeys/key0000001"), tagPath(arn+"/usageplans/plan01")
	fifty := make([]string, 0, 51)
	for i := range 51 {
		fifty = append(fifty, `"k`+strings.Repeat("x", i)+`":"v"`)
	}
	steps := []apiStep{
		{name: "get_none", method: http.MethodGet, path: api, status: 200},
		{name: "tag_api", method: http.MethodPut, path: api, body: `{"tags":{"a":"1","b":"2","c":"3"}}`, status: 204},
		{method: http.MethodPut, path: api, body: `{"tags":{"b":"20"}}`, status: 204},
		{name: "get_api", method: http.MethodGet, path: api, status: 200},
		{name: "untag_repeated", method: http.MethodDelete, path: api + "?tagKeys=a&tagKeys=absent", status: 204},
		{method: http.MethodGet, path: api, status: 200, check: wantBody(`{"tags":{"b":"20","c":"3"}}`)},
		{method: http.MethodDelete, path: api + "?tagKeys=b,c", status: 204},
		{method: http.MethodGet, path: api, status: 200, check: wantBody(`{"tags":{}}`)},
		{method: http.MethodPut, path: stage, body: `{"tags":{"env":"dev"}}`, status: 204},
		{name: "get_stage", method: http.MethodGet, path: stage, status: 200},
		// The tag shows on the stage itself too.
		{method: http.MethodGet, path: "/restapis/a1b2c3d4e5/stages/dev", status: 200, check: func(t *testing.T, r response) {
			if !strings.Contains(string(r.Body), `"tags":{"env":"dev"}`) {
				t.Fatalf("stage without its tag: %s", r.Body)
			}
		}},
		{method: http.MethodPut, path: key, body: `{"tags":{"owner":"me"}}`, status: 204},
		{method: http.MethodGet, path: key, status: 200, check: wantBody(`{"tags":{"owner":"me"}}`)},
		{method: http.MethodPut, path: plan, body: `{"tags":{"tier":"gold"}}`, status: 204},
		{method: http.MethodGet, path: plan, status: 200, check: wantBody(`{"tags":{"tier":"gold"}}`)},
		{name: "unknown_api", method: http.MethodGet, path: tagPath(arn + "/restapis/nosuchapi1"), status: 404, errType: "NotFoundException"},
		{name: "unknown_stage", method: http.MethodPut, path: tagPath(arn + "/restapis/a1b2c3d4e5/stages/nosuch"), body: `{"tags":{"a":"1"}}`,
			status: 404, errType: "NotFoundException"},
		{name: "unknown_key", method: http.MethodDelete, path: tagPath(arn+"/apikeys/nosuch") + "?tagKeys=a", status: 404, errType: "NotFoundException"},
		{name: "unknown_plan", method: http.MethodGet, path: tagPath(arn + "/usageplans/nosuch"), status: 404, errType: "NotFoundException"},
		{name: "bad_arn", method: http.MethodGet, path: tagPath("arn:aws:apigateway:us-east-1:/restapis"), status: 400, errType: "BadRequestException"},
		{name: "other_region", method: http.MethodGet, path: tagPath("arn:aws:apigateway:eu-west-1::/restapis/a1b2c3d4e5"), status: 400, errType: "BadRequestException"},
		{name: "too_many", method: http.MethodPut, path: api, body: `{"tags":{` + strings.Join(fifty, ",") + `}}`, status: 400, errType: "BadRequestException"},
		{name: "reserved_key", method: http.MethodPut, path: api, body: `{"tags":{"aws:x":"1"}}`, status: 400, errType: "BadRequestException"},
		{name: "bad_body", method: http.MethodPut, path: api, body: `{"tags":{"a":1}}`, status: 400, errType: "SerializationException"},
	}
	h.run(t, "tags", steps)
}
