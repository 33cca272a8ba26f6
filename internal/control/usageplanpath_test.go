package control

import (
	"strings"
	"testing"
)

// stageThrottlePathCases are every form of spec §3.4 (and malformed ones); they also seed the
// fuzz target.
var stageThrottlePathCases = []struct {
	path string
	ok   bool
	want stageThrottlePath
}{
	// The whole map of a stage.
	{"/apiStages/abc123:dev/throttle", true, stageThrottlePath{"abc123", "dev", "", ""}},
	// Terraform: resource path raw, with its leading slash.
	{"/apiStages/abc123:dev/throttle//test/GET/rateLimit", true, stageThrottlePath{"abc123", "dev", "/test/GET", "rateLimit"}},
	{"/apiStages/abc123:dev/throttle//test/GET/burstLimit", true, stageThrottlePath{"abc123", "dev", "/test/GET", "burstLimit"}},
	{"/apiStages/abc123:dev/throttle//test/GET", true, stageThrottlePath{"abc123", "dev", "/test/GET", ""}},
	{"/apiStages/abc123:dev/throttle//pets/{id}/DELETE/rateLimit", true, stageThrottlePath{"abc123", "dev", "/pets/{id}/DELETE", "rateLimit"}},
	// JSON-Pointer escapes.
	{"/apiStages/abc123:dev/throttle/~1test/GET/rateLimit", true, stageThrottlePath{"abc123", "dev", "/test/GET", "rateLimit"}},
	{"/apiStages/abc123:dev/throttle/~1pets~1{id}/GET", true, stageThrottlePath{"abc123", "dev", "/pets/{id}/GET", ""}},
	{"/apiStages/abc123:dev/throttle/~1a~0b/GET", true, stageThrottlePath{"abc123", "dev", "/a~b/GET", ""}},
	// Without any leading slash.
	{"/apiStages/abc123:dev/throttle/test/GET/rateLimit", true, stageThrottlePath{"abc123", "dev", "/test/GET", "rateLimit"}},
	// Wildcard.
	{"/apiStages/abc123:dev/throttle/*/*/rateLimit", true, stageThrottlePath{"abc123", "dev", "*/*", "rateLimit"}},
	{"/apiStages/abc123:dev/throttle/*/*", true, stageThrottlePath{"abc123", "dev", "*/*", ""}},
	{"/apiStages/abc123:dev/throttle/*/get/burstLimit", true, stageThrottlePath{"abc123", "dev", "*/GET", "burstLimit"}},
	// Root, in every spelling.
	{"/apiStages/abc123:dev/throttle///GET/rateLimit", true, stageThrottlePath{"abc123", "dev", "//GET", "rateLimit"}},
	{"/apiStages/abc123:dev/throttle//GET/rateLimit", true, stageThrottlePath{"abc123", "dev", "//GET", "rateLimit"}},
	{"/apiStages/abc123:dev/throttle/~1/GET", true, stageThrottlePath{"abc123", "dev", "//GET", ""}},
	{"/apiStages/abc123:dev/throttle/GET", true, stageThrottlePath{"abc123", "dev", "//GET", ""}},
	// Method case and ANY.
	{"/apiStages/abc123:dev/throttle//test/post/rateLimit", true, stageThrottlePath{"abc123", "dev", "/test/POST", "rateLimit"}},
	{"/apiStages/abc123:dev/throttle//test/ANY", true, stageThrottlePath{"abc123", "dev", "/test/ANY", ""}},
	// A resource named like a field.
	{"/apiStages/abc123:dev/throttle//rateLimit/GET/burstLimit", true, stageThrottlePath{"abc123", "dev", "/rateLimit/GET", "burstLimit"}},

	// Malformed.
	{"/apiStages", false, stageThrottlePath{}},
	{"/apiStages/", false, stageThrottlePath{}},
	{"/apiStages/abc123:dev", false, stageThrottlePath{}},
	{"/apiStages/abc123dev/throttle", false, stageThrottlePath{}},
	{"/apiStages/:dev/throttle", false, stageThrottlePath{}},
	{"/apiStages/abc123:/throttle", false, stageThrottlePath{}},
	{"/apiStages/abc123:dev/throttles", false, stageThrottlePath{}},
	{"/apiStages/abc123:dev/throttle/", false, stageThrottlePath{}},
	{"/apiStages/abc123:dev/quota", false, stageThrottlePath{}},
	{"/apiStages/abc123:dev/throttle/rateLimit", false, stageThrottlePath{}},
	{"/apiStages/abc123:dev/throttle//rateLimit", false, stageThrottlePath{}},
	{"/apiStages/abc123:dev/throttle//test/FETCH", false, stageThrottlePath{}},
	{"/apiStages/abc123:dev/throttle//test/GET/", false, stageThrottlePath{}},
	{"/apiStages/abc123:dev/throttle//test//GET", false, stageThrottlePath{}},
	{"/apiStages/abc123:dev/throttle//te*st/GET", false, stageThrottlePath{}},
	{"/apiStages/abc123:dev/throttle//test/GET/limit", false, stageThrottlePath{}},
	{"/throttle/rateLimit", false, stageThrottlePath{}},
	{"", false, stageThrottlePath{}},
}

func TestParseStageThrottlePath(t *testing.T) {
	for _, tc := range stageThrottlePathCases {
		got, ok := parseStageThrottlePath(tc.path)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseStageThrottlePath(%q) = %+v, %v; want %+v, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
}

func TestCanonicalThrottleKey(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"/pets/GET", "/pets/GET", true},
		{"/pets/get", "/pets/GET", true},
		{"//GET", "//GET", true},
		{"*/*", "*/*", true},
		{"*/post", "*/POST", true},
		{"/pets/{id}/ANY", "/pets/{id}/ANY", true},
		{"pets/GET", "", false},
		{"/GET", "", false},
		{"GET", "", false},
		{"/pets/", "", false},
		{"/pets//GET", "", false},
		{"/pets/FETCH", "", false},
		{"/*/GET", "", false},
		{"", "", false},
	}
	for _, tc := range tests {
		got, ok := canonicalThrottleKey(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("canonicalThrottleKey(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzParseStageThrottlePath checks that the parser never panics, that every key it produces is
// canonical (so the data plane and the wire see one spelling), and that a parsed path survives a
// JSON-Pointer-escaped round trip.
func FuzzParseStageThrottlePath(f *testing.F) {
	for _, tc := range stageThrottlePathCases {
		f.Add(tc.path)
	}
	f.Fuzz(func(t *testing.T, path string) {
		tp, ok := parseStageThrottlePath(path)
		if !ok {
			if tp != (stageThrottlePath{}) {
				t.Fatalf("rejected %q but returned %+v", path, tp)
			}
			return
		}
		if tp.ApiID == "" || tp.Stage == "" || strings.Contains(tp.ApiID, ":") {
			t.Fatalf("%q: bad api stage %+v", path, tp)
		}
		if tp.Key == "" {
			if tp.Field != "" {
				t.Fatalf("%q: field without key %+v", path, tp)
			}
			return
		}
		if ck, ok := canonicalThrottleKey(tp.Key); !ok || ck != tp.Key {
			t.Fatalf("%q: key %q is not canonical (%q, %v)", path, tp.Key, ck, ok)
		}
		again, ok := parseStageThrottlePath(renderStageThrottlePath(tp))
		if !ok || again != tp {
			t.Fatalf("%q: round trip via %q gave %+v, %v; want %+v", path, renderStageThrottlePath(tp), again, ok, tp)
		}
	})
}

// renderStageThrottlePath writes tp back as a JSON-Pointer path (resource path escaped).
func renderStageThrottlePath(tp stageThrottlePath) string {
	i := strings.LastIndexByte(tp.Key, '/')
	res, method := tp.Key[:i], tp.Key[i+1:]
	if res != "*" {
		res = strings.NewReplacer("~", "~0", "/", "~1").Replace(res)
	}
	s := "/apiStages/" + tp.ApiID + ":" + tp.Stage + "/throttle/" + res + "/" + method
	if tp.Field != "" {
		s += "/" + tp.Field
	}
	return s
}
