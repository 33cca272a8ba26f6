package snapshot

import (
	"strings"
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
)

// tree builds a resource list from "path VERB,VERB" specs; intermediate resources are created
// without methods.
func tree(specs ...string) []*apigw.Resource {
	root := &apigw.Resource{ID: "root"}
	rs := []*apigw.Resource{root}
	byPath := map[string]*apigw.Resource{"/": root}
	for _, spec := range specs {
		path, verbs, _ := strings.Cut(spec, " ")
		parent := root
		cur := ""
		for _, part := range strings.Split(strings.Trim(path, "/"), "/") {
			if part == "" {
				continue
			}
			cur += "/" + part
			r := byPath[cur]
			if r == nil {
				r = &apigw.Resource{ID: cur, ParentID: parent.ID, PathPart: part}
				byPath[cur] = r
				rs = append(rs, r)
			}
			parent = r
		}
		if verbs != "" {
			if parent.Methods == nil {
				parent.Methods = map[string]*apigw.Method{}
			}
			for _, v := range strings.Split(verbs, ",") {
				parent.Methods[v] = &apigw.Method{HTTPMethod: v, Integration: &apigw.Integration{Type: "MOCK"}}
			}
		}
	}
	return rs
}

func stageOf(rs []*apigw.Resource) *Stage {
	st := &Stage{}
	st.root = compileTree(rs, func(n *node, m *apigw.Method) *Method {
		return compileMethod(st, n.path, m, nil)
	})
	return st
}

// The examples of addendum §8.3 (and Q11, Q12, Q13, Q20).
func TestMatch(t *testing.T) {
	tests := []struct {
		name       string
		tree       []string
		verb, path string
		want       string // "<resource path> <declared verb>" or "" for no match
		params     string // "name=value,…"
	}{
		{"root", []string{"/ GET"}, "GET", "/", "/ GET", ""},
		{"root without slash", []string{"/ GET"}, "GET", "", "/ GET", ""},
		{"literal", []string{"/pets GET"}, "GET", "/pets", "/pets GET", ""},
		{"trailing slash", []string{"/hello GET"}, "GET", "/hello/", "/hello GET", ""},
		{"wrong verb", []string{"/pets GET"}, "POST", "/pets", "", ""},
		{"GET does not answer HEAD", []string{"/pets GET"}, "HEAD", "/pets", "", ""},
		{"ANY", []string{"/pets ANY"}, "DELETE", "/pets", "/pets ANY", ""},
		{"explicit beats ANY", []string{"/pets ANY,GET"}, "GET", "/pets", "/pets GET", ""},
		{"param", []string{"/pets/{id} GET"}, "GET", "/pets/42", "/pets/{id} GET", "id=42"},
		{"case sensitive", []string{"/pets GET"}, "GET", "/Pets", "", ""},
		{"literal beats param", []string{"/pets/{id} GET", "/pets/mine GET"}, "GET", "/pets/mine", "/pets/mine GET", ""},
		{"literal without verb falls to param (Q12)", []string{"/users/me PATCH", "/users/{userId} GET"}, "GET", "/users/me", "/users/{userId} GET", "userId=me"},
		{"greedy", []string{"/{proxy+} ANY"}, "GET", "/a/b/c", "/{proxy+} ANY", "proxy=a/b/c"},
		{"greedy keeps trailing slash", []string{"/{proxy+} ANY"}, "GET", "/thing/", "/{proxy+} ANY", "proxy=thing/"},
		{"greedy never matches the bare root (Q20)", []string{"/{proxy+} ANY"}, "GET", "/", "", ""},
		{"methodless node falls to greedy (Q11)", []string{"/jobs", "/{proxy+} ANY"}, "GET", "/jobs", "/{proxy+} ANY", "proxy=jobs"},
		{"verb mismatch falls to greedy sibling", []string{"/test POST", "/{proxy+} OPTIONS"}, "OPTIONS", "/test", "/{proxy+} OPTIONS", "proxy=test"},
		{"deep fallback (Q11)", []string{"/jobs/{operation_type} GET", "/{proxy+} ANY"}, "POST", "/jobs/reboot", "/{proxy+} ANY", "proxy=jobs/reboot"},
		{"literal vs greedy (S)", []string{"/part1 GET", "/part1/hardcoded-value GET", "/{param+} GET"}, "GET", "/part1/random-value", "/{param+} GET", "param=part1/random-value"},
		{"literal wins over greedy (S)", []string{"/part1 GET", "/part1/hardcoded-value GET", "/{param+} GET"}, "GET", "/part1/hardcoded-value", "/part1/hardcoded-value GET", ""},
		{"nested params", []string{"/a/{x}/b/{y} GET"}, "GET", "/a/1/b/2", "/a/{x}/b/{y} GET", "x=1,y=2"},
		{"param then greedy", []string{"/parent/{child}/{proxy+} GET"}, "GET", "/parent/c/d/e", "/parent/{child}/{proxy+} GET", "child=c,proxy=d/e"},
		{"too deep", []string{"/a GET"}, "GET", "/a/b", "", ""},
		{"empty segment", []string{"/a/{x} GET"}, "GET", "/a//", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := stageOf(tree(tc.tree...))
			var p Params
			m := st.Match(tc.verb, tc.path, &p)
			got := ""
			if m != nil {
				got = m.ResourcePath + " " + m.Verb
			}
			if got != tc.want {
				t.Fatalf("Match(%s %s) = %q, want %q", tc.verb, tc.path, got, tc.want)
			}
			var ps []string
			for i := 0; i < p.Len(); i++ {
				n, v := p.At(i)
				ps = append(ps, n+"="+v)
			}
			if m != nil && strings.Join(ps, ",") != tc.params {
				t.Fatalf("params = %q, want %q", strings.Join(ps, ","), tc.params)
			}
		})
	}
}

func TestNormalizeMethodKey(t *testing.T) {
	for in, want := range map[string]string{
		"*/*": "*/*", "test/GET": "/test/GET", "~1test/GET": "/test/GET", "/pets/GET": "/pets/GET",
		"//GET": "//GET", "~1/GET": "//GET", "/pets/{id}/get": "/pets/{id}/GET", "a/b/POST": "/a/b/POST",
	} {
		if got := normalizeMethodKey(in); got != want {
			t.Errorf("normalizeMethodKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzMatch(f *testing.F) {
	st := stageOf(tree("/pets/{id} GET", "/pets/mine GET", "/{proxy+} ANY", "/a/{x}/b/{y} GET", "/ GET"))
	f.Add("GET", "/pets/1")
	f.Add("POST", "//a/b//")
	f.Fuzz(func(t *testing.T, verb, path string) {
		var p Params
		m := st.Match(verb, path, &p)
		if m == nil {
			return
		}
		if m.Verb != verb && m.Verb != "ANY" {
			t.Fatalf("%s %s matched %s %s", verb, path, m.Verb, m.ResourcePath)
		}
		for i := 0; i < p.Len(); i++ {
			if _, v := p.At(i); v == "" {
				t.Fatalf("empty variable for %q", path)
			}
		}
	})
}

func BenchmarkMatch(b *testing.B) {
	st := stageOf(tree("/pets/{id} GET", "/pets/mine GET", "/{proxy+} ANY", "/a/{x}/b/{y} GET", "/ GET", "/users/me PATCH", "/users/{userId} GET"))
	b.ReportAllocs()
	var p Params
	for i := 0; i < b.N; i++ {
		if st.Match("GET", "/users/me", &p) == nil {
			b.Fatal("no match")
		}
	}
}
