package mgmt

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/internal/awswire"
)

// Test helpers for the REST API tree handlers (restapis, resources, methods, integrations).
//
// A fixture is an API with this tree, built through the management API itself:
//
//	/                 @root
//	/pets             @pets    GET (MOCK, method response 200, integration response 200)
//	/pets/{petId}     @pet
//
// Paths and bodies of test cases name ids with @api, @root, @pets, @pet; golden files get the
// same placeholders.
type rtFixture struct {
	t   *testing.T
	h   *harness
	ids map[string]string // token (without @) → id
}

func newRTFixture(t *testing.T) *rtFixture {
	t.Helper()
	f := &rtFixture{t: t, h: newHarness(t), ids: map[string]string{}}
	api := f.must(http.MethodPost, "/restapis", `{"name":"pets-api"}`, http.StatusCreated)
	f.ids["api"] = api["id"].(string)
	f.ids["root"] = api["rootResourceId"].(string)
	f.ids["pets"] = f.must(http.MethodPost, "/restapis/@api/resources/@root", `{"pathPart":"pets"}`, http.StatusCreated)["id"].(string)
	f.ids["pet"] = f.must(http.MethodPost, "/restapis/@api/resources/@pets", `{"pathPart":"{petId}"}`, http.StatusCreated)["id"].(string)
	m := "/restapis/@api/resources/@pets/methods/GET"
	f.must(http.MethodPut, m, `{"authorizationType":"NONE"}`, http.StatusCreated)
	f.must(http.MethodPut, m+"/responses/200", `{"responseModels":{"application/json":"Empty"}}`, http.StatusCreated)
	f.must(http.MethodPut, m+"/integration", `{"type":"MOCK","requestTemplates":{"application/json":"{\"statusCode\": 200}"}}`, http.StatusCreated)
	f.must(http.MethodPut, m+"/integration/responses/200", `{"selectionPattern":""}`, http.StatusCreated)
	return f
}

// expand replaces @tokens with ids, longest token first.
func (f *rtFixture) expand(s string) string {
	keys := make([]string, 0, len(f.ids))
	for k := range f.ids {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		s = strings.ReplaceAll(s, "@"+k, f.ids[k])
	}
	return s
}

// subst maps ids (and position tokens naming them) back to their @tokens for golden files.
func (f *rtFixture) subst() map[string]string {
	out := make(map[string]string, 2*len(f.ids))
	for k, v := range f.ids {
		out[v] = "@" + k
		out[awswire.EncodePosition(v)] = "<position @" + k + ">"
	}
	return out
}

// do sends a request with @tokens expanded.
func (f *rtFixture) do(method, path, body string) response {
	f.t.Helper()
	return f.h.do(method, f.expand(path), f.expand(body))
}

// must sends a request, requires the status and returns the decoded JSON body (nil when empty).
func (f *rtFixture) must(method, path, body string, status int) map[string]any {
	f.t.Helper()
	r := f.do(method, path, body)
	if r.Status != status {
		f.t.Fatalf("%s %s: status %d, want %d: %s", method, f.expand(path), r.Status, status, r.Body)
	}
	if len(r.Body) == 0 {
		return nil
	}
	var out map[string]any
	if err := json.Unmarshal(r.Body, &out); err != nil {
		f.t.Fatalf("%s %s: %v: %s", method, path, err, r.Body)
	}
	return out
}

// learnIDs names ids a successful create returned that the fixture does not know yet (@new,
// @newroot), so golden files stay stable.
func (f *rtFixture) learnIDs(r response) {
	if r.Status != http.StatusCreated || len(r.Body) == 0 || r.Body[0] != '{' {
		return
	}
	var body struct {
		ID             string `json:"id"`
		RootResourceID string `json:"rootResourceId"`
	}
	if json.Unmarshal(r.Body, &body) != nil {
		return
	}
	known := map[string]bool{}
	for _, v := range f.ids {
		known[v] = true
	}
	if body.ID != "" && !known[body.ID] {
		f.ids["new"] = body.ID
	}
	if body.RootResourceID != "" && !known[body.RootResourceID] {
		f.ids["newroot"] = body.RootResourceID
	}
}

// rtStep is a request a case needs before the one under test; as, when set, names the id the
// response returns (@as in later paths and bodies).
type rtStep struct {
	method, path, body string
	status             int
	as                 string
}

// rtCase is one request and its expected outcome: the status, for errors the exact
// x-amzn-ErrorType and message, and optionally a golden file for the whole response.
type rtCase struct {
	name    string
	pre     []rtStep
	method  string
	path    string
	body    string
	status  int
	errType string
	message string
	golden  string
	check   func(t *testing.T, f *rtFixture, r response)
}

// runRTCases runs each case against a fresh fixture.
func runRTCases(t *testing.T, prefix string, cases []rtCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newRTFixture(t)
			for _, p := range c.pre {
				body := f.must(p.method, p.path, p.body, p.status)
				if p.as != "" {
					f.ids[p.as] = body["id"].(string)
				}
			}
			r := f.do(c.method, c.path, c.body)
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
			f.learnIDs(r)
			if c.errType != "" || r.ErrorType != "" {
				if r.ErrorType != c.errType {
					t.Errorf("x-amzn-ErrorType %q, want %q", r.ErrorType, c.errType)
				}
				var e struct {
					Message string `json:"message"`
				}
				if err := json.Unmarshal(r.Body, &e); err != nil {
					t.Fatalf("error body %s: %v", r.Body, err)
				}
				if e.Message != f.expand(c.message) {
					t.Errorf("message\n got %q\nwant %q", e.Message, f.expand(c.message))
				}
			}
			if c.golden != "" {
				golden(t, prefix+"_"+c.golden, r, f.subst())
			}
			if c.check != nil {
				c.check(t, f, r)
			}
		})
	}
}

// Error types the cases expect.
const (
	rtBad        = "BadRequestException"
	rtNotFound   = "NotFoundException"
	rtConflict   = "ConflictException"
	rtValidation = "ValidationException"
	rtSerial     = "SerializationException"
)

// rtPatch builds an Update* body from rtOp/rtOpNoValue operations.
func rtPatch(ops ...string) string { return `{"patchOperations":[` + strings.Join(ops, ",") + `]}` }

func rtOp(o, path, value string) string {
	return fmt.Sprintf(`{"op":%q,"path":%q,"value":%q}`, o, path, value)
}

func rtOpNoValue(o, path string) string { return fmt.Sprintf(`{"op":%q,"path":%q}`, o, path) }

// rtJSON decodes a response body.
func rtJSON(t *testing.T, r response) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatalf("%v: %s", err, r.Body)
	}
	return out
}
