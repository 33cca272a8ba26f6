package mgmt

import (
	"net/http"
	"testing"
)

// pathOf returns a resource's path as GetResource reports it.
func pathOf(t *testing.T, f *rtFixture, id string) string {
	t.Helper()
	return f.must("GET", "/restapis/@api/resources/"+id, "", http.StatusOK)["path"].(string)
}

func TestGetResources(t *testing.T) {
	runRTCases(t, "resources_list", []rtCase{
		{name: "pre-order, empty method objects", method: "GET", path: "/restapis/@api/resources", status: 200, golden: "plain"},
		{name: "embed methods", method: "GET", path: "/restapis/@api/resources?embed=methods", status: 200, golden: "embed"},
		{name: "embed comma form", method: "GET", path: "/restapis/@api/resources?embed=x,methods", status: 200,
			check: func(t *testing.T, _ *rtFixture, r response) {
				for _, it := range rtJSON(t, r)["item"].([]any) {
					m, ok := it.(map[string]any)["resourceMethods"].(map[string]any)
					if ok && m["GET"].(map[string]any)["httpMethod"] != "GET" {
						t.Errorf("comma-form embed did not embed: %v", m)
					}
				}
			}},
		{name: "first page", method: "GET", path: "/restapis/@api/resources?limit=2", status: 200, golden: "page1"},
		{name: "stale position", method: "GET", path: "/restapis/@api/resources?position=djE6bm9wZQ", status: 400, errType: rtBad,
			message: "Invalid position specified"},
		{name: "unknown api", method: "GET", path: "/restapis/nope/resources", status: 404, errType: rtNotFound,
			message: "Invalid API identifier specified 123456789012:nope"},
	})
}

func TestGetResourcesPaging(t *testing.T) {
	f := newRTFixture(t)
	first := f.must("GET", "/restapis/@api/resources?limit=2", "", 200)
	pos, ok := first["position"].(string)
	if !ok || len(first["item"].([]any)) != 2 {
		t.Fatalf("first page %v", first)
	}
	second := f.must("GET", "/restapis/@api/resources?limit=2&position="+pos, "", 200)
	items := second["item"].([]any)
	if _, more := second["position"]; more || len(items) != 1 || items[0].(map[string]any)["id"] != f.ids["pet"] {
		t.Fatalf("second page %v", second)
	}
}

func TestGetResource(t *testing.T) {
	runRTCases(t, "resources_get", []rtCase{
		{name: "root", method: "GET", path: "/restapis/@api/resources/@root", status: 200, golden: "root"},
		{name: "with methods", method: "GET", path: "/restapis/@api/resources/@pets", status: 200, golden: "pets"},
		{name: "embed", method: "GET", path: "/restapis/@api/resources/@pets?embed=methods", status: 200, golden: "pets_embed"},
		{name: "unknown resource", method: "GET", path: "/restapis/@api/resources/nope", status: 404, errType: rtNotFound,
			message: "Invalid Resource identifier specified", golden: "unknown"},
		{name: "unknown api", method: "GET", path: "/restapis/nope/resources/@pets", status: 404, errType: rtNotFound,
			message: "Invalid Resource identifier specified"},
	})
}

func TestCreateResource(t *testing.T) {
	const sibling = "A sibling ({petId}) of this resource already has a variable path part -- only one is allowed"
	const badChars = "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end and an optional plus sign before the closing brace."
	greedy := rtStep{"POST", "/restapis/@api/resources/@root", `{"pathPart":"{proxy+}"}`, 201, "proxy"}
	ok := func(path string) func(*testing.T, *rtFixture, response) {
		return func(t *testing.T, f *rtFixture, r response) {
			t.Helper()
			if got := rtJSON(t, r)["path"]; got != path {
				t.Errorf("path %v, want %s", got, path)
			}
		}
	}
	runRTCases(t, "resources_create", []rtCase{
		{name: "literal", method: "POST", path: "/restapis/@api/resources/@root", body: `{"pathPart":"owners"}`, status: 201, golden: "ok"},
		{name: "nested variable", method: "POST", path: "/restapis/@api/resources/@pet", body: `{"pathPart":"{child+}"}`, status: 201,
			check: ok("/pets/{petId}/{child+}")},
		{name: "literal next to variable", method: "POST", path: "/restapis/@api/resources/@pets", body: `{"pathPart":"search"}`, status: 201,
			check: ok("/pets/search")},
		{name: "colon and comma", method: "POST", path: "/restapis/@api/resources/@root", body: `{"pathPart":"events:batch,v1"}`, status: 201,
			check: ok("/events:batch,v1")},
		{name: "greedy parent", pre: []rtStep{greedy}, method: "POST", path: "/restapis/@api/resources/@proxy", body: `{"pathPart":"x"}`,
			status: 400, errType: rtBad, message: "Cannot create a child of a resource with a greedy path variable: {proxy+}", golden: "greedy_parent"},
		{name: "greedy parent before characters", pre: []rtStep{greedy}, method: "POST", path: "/restapis/@api/resources/@proxy", body: `{"pathPart":"a b"}`,
			status: 400, errType: rtBad, message: "Cannot create a child of a resource with a greedy path variable: {proxy+}"},
		{name: "bad characters", method: "POST", path: "/restapis/@api/resources/@root", body: `{"pathPart":"a b"}`,
			status: 400, errType: rtBad, message: badChars, golden: "bad_chars"},
		{name: "plus outside braces", method: "POST", path: "/restapis/@api/resources/@root", body: `{"pathPart":"a+"}`,
			status: 400, errType: rtBad, message: badChars},
		{name: "empty", method: "POST", path: "/restapis/@api/resources/@root", body: `{"pathPart":""}`,
			status: 400, errType: rtBad, message: badChars},
		{name: "duplicate", method: "POST", path: "/restapis/@api/resources/@root", body: `{"pathPart":"pets"}`,
			status: 409, errType: rtConflict, message: "Another resource with the same parent already has this name: pets", golden: "duplicate"},
		{name: "duplicate variable is a conflict first", method: "POST", path: "/restapis/@api/resources/@pets", body: `{"pathPart":"{petId}"}`,
			status: 409, errType: rtConflict, message: "Another resource with the same parent already has this name: {petId}"},
		{name: "second variable", method: "POST", path: "/restapis/@api/resources/@pets", body: `{"pathPart":"{other}"}`,
			status: 400, errType: rtBad, message: sibling, golden: "second_variable"},
		{name: "greedy next to variable", method: "POST", path: "/restapis/@api/resources/@pets", body: `{"pathPart":"{proxy+}"}`,
			status: 400, errType: rtBad, message: sibling},
		{name: "unknown parent", method: "POST", path: "/restapis/@api/resources/nope", body: `{"pathPart":"x"}`,
			status: 404, errType: rtNotFound, message: "Invalid Resource identifier specified"},
		{name: "unknown api", method: "POST", path: "/restapis/nope/resources/@root", body: `{"pathPart":"x"}`,
			status: 404, errType: rtNotFound, message: "Invalid Resource identifier specified"},
		{name: "missing path part", method: "POST", path: "/restapis/@api/resources/@root", body: `{}`,
			status: 400, errType: rtValidation, message: "1 validation error detected: Value null at 'createResourceInput.pathPart' failed to satisfy constraint: Member must not be null"},
	})
}

func TestUpdateResource(t *testing.T) {
	owners := rtStep{"POST", "/restapis/@api/resources/@root", `{"pathPart":"owners"}`, 201, "owners"}
	runRTCases(t, "resources_update", []rtCase{
		{name: "rename, children follow", method: "PATCH", path: "/restapis/@api/resources/@pets", body: rtPatch(rtOp("replace", "/pathPart", "animals")),
			status: 200, golden: "rename",
			check: func(t *testing.T, f *rtFixture, _ response) {
				if p := pathOf(t, f, "@pet"); p != "/animals/{petId}" {
					t.Errorf("child path %s", p)
				}
			}},
		{name: "move", pre: []rtStep{owners}, method: "PATCH", path: "/restapis/@api/resources/@pet", body: rtPatch(rtOp("replace", "/parentId", "@owners")),
			status: 200, golden: "move"},
		{name: "root path part", method: "PATCH", path: "/restapis/@api/resources/@root", body: rtPatch(rtOp("replace", "/pathPart", "x")),
			status: 400, errType: rtBad, message: "Root resource cannot update its pathPart."},
		{name: "root parent", method: "PATCH", path: "/restapis/@api/resources/@root", body: rtPatch(rtOp("replace", "/parentId", "@pets")),
			status: 400, errType: rtBad, message: "Root resource cannot update its parentId."},
		{name: "cyclical", method: "PATCH", path: "/restapis/@api/resources/@pets", body: rtPatch(rtOp("replace", "/parentId", "@pet")),
			status: 400, errType: rtBad, message: "Resources cannot be cyclical."},
		{name: "under itself", method: "PATCH", path: "/restapis/@api/resources/@pets", body: rtPatch(rtOp("replace", "/parentId", "@pets")),
			status: 400, errType: rtBad, message: "Resources cannot be cyclical."},
		{name: "unknown new parent", method: "PATCH", path: "/restapis/@api/resources/@pets", body: rtPatch(rtOp("replace", "/parentId", "nope")),
			status: 404, errType: rtNotFound, message: "Invalid Resource identifier specified"},
		{name: "name clash", pre: []rtStep{owners}, method: "PATCH", path: "/restapis/@api/resources/@owners", body: rtPatch(rtOp("replace", "/pathPart", "pets")),
			status: 409, errType: rtConflict, message: "Another resource with the same parent already has this name: pets"},
		{name: "same name is no clash", method: "PATCH", path: "/restapis/@api/resources/@pets", body: rtPatch(rtOp("replace", "/pathPart", "pets")),
			status: 200},
		{name: "greedy with children", method: "PATCH", path: "/restapis/@api/resources/@pets", body: rtPatch(rtOp("replace", "/pathPart", "{all+}")),
			status: 400, errType: rtBad, message: "Cannot create a child of a resource with a greedy path variable: {all+}"},
		{name: "other path", method: "PATCH", path: "/restapis/@api/resources/@pets", body: rtPatch(rtOp("replace", "/path", "x")),
			status: 400, errType: rtBad, message: "Invalid patch path  '/path' specified for op 'replace'. Must be one of: [/parentId, /pathPart]"},
		{name: "add", method: "PATCH", path: "/restapis/@api/resources/@pets", body: rtPatch(rtOp("add", "/pathPart", "x")),
			status: 400, errType: rtBad, message: "Invalid patch path  '/pathPart' specified for op 'add'. Please choose supported operations"},
		{name: "all or nothing", method: "PATCH", path: "/restapis/@api/resources/@pets",
			body:   rtPatch(rtOp("replace", "/pathPart", "animals"), rtOp("replace", "/parentId", "nope")),
			status: 404, errType: rtNotFound, message: "Invalid Resource identifier specified",
			check: func(t *testing.T, f *rtFixture, _ response) {
				if p := pathOf(t, f, "@pets"); p != "/pets" {
					t.Errorf("failed update left path %s", p)
				}
			}},
		{name: "unknown resource", method: "PATCH", path: "/restapis/@api/resources/nope", body: rtPatch(rtOp("replace", "/pathPart", "x")),
			status: 404, errType: rtNotFound, message: "Invalid Resource identifier specified"},
	})
}

func TestDeleteResource(t *testing.T) {
	runRTCases(t, "resources_delete", []rtCase{
		{name: "with descendants", method: "DELETE", path: "/restapis/@api/resources/@pets", status: 202,
			check: func(t *testing.T, f *rtFixture, r response) {
				if len(r.Body) != 0 {
					t.Errorf("body %q", r.Body)
				}
				f.must("DELETE", "/restapis/@api/resources/@pet", "", 404)
				if n := len(f.must("GET", "/restapis/@api/resources", "", 200)["item"].([]any)); n != 1 {
					t.Errorf("%d resources left, want the root only", n)
				}
			}},
		{name: "moved child survives", pre: []rtStep{{"PATCH", "/restapis/@api/resources/@pet", rtPatch(rtOp("replace", "/parentId", "@root")), 200, ""}},
			method: "DELETE", path: "/restapis/@api/resources/@pets", status: 202,
			check: func(t *testing.T, f *rtFixture, _ response) {
				if p := pathOf(t, f, "@pet"); p != "/{petId}" {
					t.Errorf("moved child path %s", p)
				}
			}},
		{name: "root", method: "DELETE", path: "/restapis/@api/resources/@root", status: 400, errType: rtBad,
			message: "Cannot delete root resource", golden: "root"},
		{name: "unknown", method: "DELETE", path: "/restapis/@api/resources/nope", status: 404, errType: rtNotFound,
			message: "Invalid Resource identifier specified"},
	})
}
