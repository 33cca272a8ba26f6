package openapi

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
)

// FuzzImport checks that no document makes the converter panic, that every failure is a client
// error, and that every tree it produces is one CreateResource could have built.
func FuzzImport(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.*"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b, uint8(0))
		}
	}
	for _, s := range []string{
		"", "{", "x", "[]", `{"swagger":"2.0","paths":{}}`,
		`{"openapi":"3.0.0","paths":{"/a/{b}/{c+}":{"get":{}}}}`,
		"swagger: '2.0'\nbasePath: /v1/x\npaths:\n  /a:\n    x-amazon-apigateway-any-method: {parameters: [{in: formData, name: f, type: file}]}\n",
		`{"openapi":"3.0.0","servers":[{"url":"https://h/{v}/p","variables":{"v":{"default":"z"}}}],"paths":{"//a//":{}}}`,
	} {
		f.Add([]byte(s), uint8(1))
	}
	modes := []string{BasePathIgnore, BasePathPrepend, BasePathSplit}
	f.Fuzz(func(t *testing.T, body []byte, mode uint8) {
		d, err := Parse(body)
		if err != nil {
			checkClientError(t, err)
			return
		}
		res, err := d.Convert(Options{BasePath: modes[int(mode)%len(modes)], RootID: "root", NewID: counterIDs()})
		if err != nil {
			checkClientError(t, err)
			return
		}
		checkTree(t, res.Resources)
	})
}

func checkClientError(t *testing.T, err error) {
	t.Helper()
	var e *apigw.Error
	if !errors.As(err, &e) || (e.Kind != apigw.KindBadRequest && e.Kind != apigw.KindConflict) {
		t.Fatalf("error %v is not a 400/409 client error", err)
	}
}

func checkTree(t *testing.T, rs []*apigw.Resource) {
	t.Helper()
	if len(rs) == 0 || rs[0].ID != "root" || rs[0].ParentID != "" || rs[0].PathPart != "" {
		t.Fatalf("tree does not start with the root: %+v", rs)
	}
	ids := map[string]bool{}
	for _, r := range rs {
		if ids[r.ID] {
			t.Fatalf("duplicate id %s", r.ID)
		}
		ids[r.ID] = true
		if r.ID != "root" && (r.ParentID == "" || !apigw.ValidPathPart(r.PathPart)) {
			t.Fatalf("invalid resource %+v", r)
		}
		if apigw.ResourcePath(rs, r.ID) == "" {
			t.Fatalf("resource %s has no path", r.ID)
		}
	}
	if len(apigw.PreOrder(rs)) != len(rs) {
		t.Fatalf("tree is not connected: %d of %d resources reachable", len(apigw.PreOrder(rs)), len(rs))
	}
	if err := apigw.ValidateTree(rs); err != nil {
		t.Fatalf("produced tree is invalid: %v", err)
	}
}
