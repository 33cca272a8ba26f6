package control

import (
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
)

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
