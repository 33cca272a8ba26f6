package mgmt

import (
	"strings"
	"testing"
)

const akTestRole = "arn:aws:iam::123456789012:role/service/apigw-cloudwatch"

func TestAccount(t *testing.T) {
	patchBody := func(ops ...string) string { return `{"patchOperations":[` + strings.Join(ops, ",") + `]}` }
	setRole := func(h *harness) {
		if r := h.do("PATCH", "/account", patchBody(`{"op":"replace","path":"/cloudwatchRoleArn","value":"`+akTestRole+`"}`)); r.Status != 200 {
			h.t.Fatalf("setting the role: %d %s", r.Status, r.Body)
		}
	}
	roleKept := func(t *testing.T, h *harness) {
		akWantBody(t, h, "GET", "/account", 200, `"cloudwatchRoleArn":"`+akTestRole+`"`)
	}
	tests := []struct {
		name    string // golden file testdata/golden/account_<name>.golden
		setup   func(h *harness)
		method  string
		body    string
		status  int
		errType string
		after   func(t *testing.T, h *harness)
	}{
		{name: "get_default", method: "GET", status: 200},
		{name: "get_with_role", method: "GET", status: 200, setup: setRole},
		{name: "update_role", method: "PATCH", status: 200,
			body: patchBody(`{"op":"replace","path":"/cloudwatchRoleArn","value":"` + akTestRole + `"}`), after: roleKept},
		{name: "update_role_gov_partition", method: "PATCH", status: 200,
			body: patchBody(`{"op":"replace","path":"/cloudwatchRoleArn","value":"arn:aws-us-gov:iam::123456789012:role/logs"}`)},
		{name: "update_clear_role_without_value", method: "PATCH", status: 200, setup: setRole,
			body: patchBody(`{"op":"replace","path":"/cloudwatchRoleArn"}`)},
		{name: "update_clear_role_empty_value", method: "PATCH", status: 200, setup: setRole,
			body: patchBody(`{"op":"replace","path":"/cloudwatchRoleArn","value":""}`)},
		{name: "update_bad_role", method: "PATCH", status: 400, errType: "BadRequestException", setup: setRole,
			body: patchBody(`{"op":"replace","path":"/cloudwatchRoleArn","value":"arn:aws:iam::1234:role/x"}`), after: roleKept},
		{name: "update_add_feature", method: "PATCH", status: 200,
			body: patchBody(`{"op":"add","path":"/features","value":"UsagePlans"}`)},
		{name: "update_remove_feature", method: "PATCH", status: 400, errType: "BadRequestException",
			body: patchBody(`{"op":"remove","path":"/features","value":"UsagePlans"}`)},
		{name: "update_unknown_feature", method: "PATCH", status: 400, errType: "BadRequestException",
			body: patchBody(`{"op":"add","path":"/features","value":"Other"}`)},
		{name: "update_all_or_nothing", method: "PATCH", status: 400, errType: "BadRequestException", setup: setRole,
			body: patchBody(`{"op":"replace","path":"/cloudwatchRoleArn"}`, `{"op":"remove","path":"/features","value":"UsagePlans"}`), after: roleKept},
		{name: "update_throttle_read_only", method: "PATCH", status: 400, errType: "BadRequestException",
			body: patchBody(`{"op":"replace","path":"/throttleSettings/rateLimit","value":"1"}`)},
		{name: "update_bad_op", method: "PATCH", status: 400, errType: "ValidationException",
			body: patchBody(`{"op":"delete","path":"/cloudwatchRoleArn"}`)},
		{name: "update_empty_list", method: "PATCH", status: 200, setup: setRole, body: patchBody(), after: roleKept},
		{name: "update_empty_body", method: "PATCH", status: 200, body: ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if tc.setup != nil {
				tc.setup(h)
			}
			r := h.do(tc.method, "/account", tc.body)
			if r.Status != tc.status || r.ErrorType != tc.errType {
				t.Fatalf("got %d %q %s, want %d %q", r.Status, r.ErrorType, r.Body, tc.status, tc.errType)
			}
			golden(t, "account_"+tc.name, r, nil)
			if tc.after != nil {
				tc.after(t, h)
			}
		})
	}
}

// TestAccountPerRegion checks that the account is stored per region.
func TestAccountPerRegion(t *testing.T) {
	h := newHarness(t)
	r := h.do("PATCH", "/account", `{"patchOperations":[{"op":"replace","path":"/cloudwatchRoleArn","value":"`+akTestRole+`"}]}`)
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	h.srv = New(h.svc, akRegion("eu-central-1"))
	akWantBody(t, h, "GET", "/account", 200, `"features":["UsagePlans"]`)
	if r := h.do("GET", "/account", ""); strings.Contains(string(r.Body), "cloudwatchRoleArn") {
		t.Fatalf("role leaked into another region: %s", r.Body)
	}
}
