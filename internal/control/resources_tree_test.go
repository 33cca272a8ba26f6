package control

import (
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
)

func TestValidatePathPart(t *testing.T) {
	tests := []struct {
		part string
		ok   bool
	}{
		{"pets", true},
		{"a.b_c-d", true},
		{"events:batch", true},
		{"a,b", true},
		{"{id}", true},
		{"{proxy+}", true},
		{"{child+}", true},
		{"{a.b-c_d}", true},
		{"", false},
		{"a b", false},
		{"a/b", false},
		{"a+", false},
		{"{}", false},
		{"{+}", false},
		{"{a}b", false},
		{"a{b}", false},
		{"{a+b}", false},
		{"{a:b}", false},
		{"é", false},
	}
	for _, tc := range tests {
		err := ValidatePathPart(tc.part)
		if (err == nil) != tc.ok {
			t.Errorf("ValidatePathPart(%q) = %v, want ok=%v", tc.part, err, tc.ok)
		}
		if err != nil && err.Error() != MsgBadPathPart {
			t.Errorf("ValidatePathPart(%q) text %q", tc.part, err.Error())
		}
	}
}

func TestCheckChild(t *testing.T) {
	rs := []*apigw.Resource{
		{ID: "root"},
		{ID: "a", ParentID: "root", PathPart: "pets"},
		{ID: "b", ParentID: "root", PathPart: "{proxy+}"},
		{ID: "c", ParentID: "a", PathPart: "{id}"},
	}
	byID := func(id string) *apigw.Resource {
		for _, r := range rs {
			if r.ID == id {
				return r
			}
		}
		t.Fatalf("no resource %s", id)
		return nil
	}
	tests := []struct {
		name, parent, part, self string
		kind                     apigw.Kind
		msg                      string
	}{
		{"literal sibling of greedy", "root", "users", "", -1, ""},
		{"greedy parent", "b", "x", "", apigw.KindBadRequest, "Cannot create a child of a resource with a greedy path variable: {proxy+}"},
		{"greedy parent before chars", "b", "a b", "", apigw.KindBadRequest, "Cannot create a child of a resource with a greedy path variable: {proxy+}"},
		{"chars before duplicate", "root", "pets!", "", apigw.KindBadRequest, MsgBadPathPart},
		{"duplicate", "root", "pets", "", apigw.KindConflict, "Another resource with the same parent already has this name: pets"},
		{"renaming to own name", "root", "pets", "a", -1, ""},
		{"second variable", "root", "{id}", "", apigw.KindBadRequest, "A sibling ({proxy+}) of this resource already has a variable path part -- only one is allowed"},
		{"variable replacing itself", "a", "{petId}", "c", -1, ""},
		{"variable under literal", "a", "{other+}", "", apigw.KindBadRequest, "A sibling ({id}) of this resource already has a variable path part -- only one is allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckChild(rs, byID(tc.parent), tc.part, tc.self)
			if tc.kind < 0 {
				if err != nil {
					t.Fatalf("unexpected %v", err)
				}
				return
			}
			if apigw.KindOf(err) != tc.kind || err.Error() != tc.msg {
				t.Fatalf("got %v (kind %d), want %q (kind %d)", err, apigw.KindOf(err), tc.msg, tc.kind)
			}
		})
	}
}

func TestAddResourceIDs(t *testing.T) {
	a := NewRestApi("x", rtNow)
	r, err := AddResource(a, a.RootResourceID, "pets")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.ID) != apigw.ResourceIDLen || r.ParentID != a.RootResourceID || a.Path(r.ID) != "/pets" {
		t.Fatalf("resource %+v path %s", r, a.Path(r.ID))
	}
	if _, err := AddResource(a, "nope", "x"); apigw.KindOf(err) != apigw.KindNotFound || err.Error() != apigw.MsgInvalidResourceID {
		t.Fatalf("unknown parent: %v", err)
	}
}

func TestIsDescendantAndSubtree(t *testing.T) {
	rs := []*apigw.Resource{{ID: "r"}, {ID: "a", ParentID: "r"}, {ID: "b", ParentID: "a"}, {ID: "c", ParentID: "r"}}
	if !isDescendant(rs, "b", "a") || !isDescendant(rs, "a", "a") || isDescendant(rs, "c", "a") || isDescendant(rs, "r", "a") {
		t.Error("isDescendant wrong")
	}
	got := subtree(rs, "a")
	if len(got) != 2 || !got["a"] || !got["b"] {
		t.Errorf("subtree(a) = %v", got)
	}
}

func TestNormalizeHTTPMethod(t *testing.T) {
	for _, v := range []string{"get", "Post", "ANY", "options"} {
		if _, err := NormalizeHTTPMethod(v); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}
	if v, _ := NormalizeHTTPMethod("patch"); v != "PATCH" {
		t.Errorf("patch → %q", v)
	}
	for _, v := range []string{"", "FETCH", "CONNECT", "TRACE"} {
		if _, err := NormalizeHTTPMethod(v); apigw.KindOf(err) != apigw.KindBadRequest {
			t.Errorf("%q accepted", v)
		}
	}
}
