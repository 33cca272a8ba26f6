package apigw

import "testing"

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
	rs := []*Resource{
		{ID: "root"},
		{ID: "a", ParentID: "root", PathPart: "pets"},
		{ID: "b", ParentID: "root", PathPart: "{proxy+}"},
		{ID: "c", ParentID: "a", PathPart: "{id}"},
	}
	byID := func(id string) *Resource {
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
		kind                     Kind
		msg                      string
	}{
		{"literal sibling of greedy", "root", "users", "", -1, ""},
		{"greedy parent", "b", "x", "", KindBadRequest, "Cannot create a child of a resource with a greedy path variable: {proxy+}"},
		{"greedy parent before chars", "b", "a b", "", KindBadRequest, "Cannot create a child of a resource with a greedy path variable: {proxy+}"},
		{"chars before duplicate", "root", "pets!", "", KindBadRequest, MsgBadPathPart},
		{"duplicate", "root", "pets", "", KindConflict, "Another resource with the same parent already has this name: pets"},
		{"renaming to own name", "root", "pets", "a", -1, ""},
		{"second variable", "root", "{id}", "", KindBadRequest, "A sibling ({proxy+}) of this resource already has a variable path part -- only one is allowed"},
		{"variable replacing itself", "a", "{petId}", "c", -1, ""},
		{"variable under literal", "a", "{other+}", "", KindBadRequest, "A sibling ({id}) of this resource already has a variable path part -- only one is allowed"},
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
			if KindOf(err) != tc.kind || err.Error() != tc.msg {
				t.Fatalf("got %v (kind %d), want %q (kind %d)", err, KindOf(err), tc.msg, tc.kind)
			}
		})
	}
}
