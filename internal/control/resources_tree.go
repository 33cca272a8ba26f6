package control

import (
	"strings"

	"github.com/tollgate/tollgate/internal/apigw"
)

// Shared resource-tree rules (addendum §4.3, §4.4, §5.1). CreateResource, UpdateResource,
// PutMethod and the OpenAPI importer all go through these, so an imported tree obeys exactly the
// rules a hand-built one does.

// AddResource validates and appends a new child of parentID named pathPart to api, with a fresh
// 6-character id unique within the API. A missing parent is the 404 every resource call uses.
func AddResource(api *apigw.RestApi, parentID, pathPart string) (*apigw.Resource, error) {
	parent := api.Resource(parentID)
	if parent == nil {
		return nil, apigw.NotFound(apigw.MsgInvalidResourceID)
	}
	if err := apigw.CheckChild(api.Resources, parent, pathPart, ""); err != nil {
		return nil, err
	}
	r := &apigw.Resource{ID: newResourceID(api, apigw.ResourceIDLen), ParentID: parentID, PathPart: pathPart}
	api.Resources = append(api.Resources, r)
	return r, nil
}

// newResourceID draws ids until one is unused within the API (collisions are astronomically rare
// but would corrupt the tree).
func newResourceID(api *apigw.RestApi, n int) string {
	for {
		id := apigw.NewID(n)
		if api.Resource(id) == nil {
			return id
		}
	}
}

// isDescendant reports whether id is candidate or lies below it (moving a resource under its own
// subtree would make the tree cyclical).
func isDescendant(rs []*apigw.Resource, id, candidate string) bool {
	byID := make(map[string]*apigw.Resource, len(rs))
	for _, r := range rs {
		byID[r.ID] = r
	}
	for r := byID[id]; r != nil; r = byID[r.ParentID] {
		if r.ID == candidate {
			return true
		}
		if r.ParentID == "" {
			break
		}
	}
	return false
}

// subtree returns the ids of a resource and all its descendants.
func subtree(rs []*apigw.Resource, id string) map[string]bool {
	out := map[string]bool{id: true}
	for changed := true; changed; {
		changed = false
		for _, r := range rs {
			if !out[r.ID] && out[r.ParentID] {
				out[r.ID] = true
				changed = true
			}
		}
	}
	return out
}

// HTTPMethods are the verbs a method may have, in the order AWS lists them.
var HTTPMethods = []string{"GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "HEAD", "ANY"}

// NormalizeHTTPMethod upper-cases a method verb and checks it is one API Gateway knows (§12 A8:
// verbs are accepted case-insensitively and stored upper-case).
func NormalizeHTTPMethod(verb string) (string, error) {
	v := strings.ToUpper(verb)
	for _, m := range HTTPMethods {
		if v == m {
			return v, nil
		}
	}
	return "", apigw.BadRequest("Invalid HttpMethod specified. Valid options are %s", strings.Join(HTTPMethods, ","))
}
