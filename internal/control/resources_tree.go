package control

import (
	"regexp"
	"strings"

	"github.com/tollgate/tollgate/internal/apigw"
)

// Shared resource-tree rules (addendum §4.3, §4.4, §5.1). CreateResource, UpdateResource,
// PutMethod and the OpenAPI importer all go through these, so an imported tree obeys exactly the
// rules a hand-built one does.

var (
	literalPart  = regexp.MustCompile(`^[A-Za-z0-9._\-:,]+$`)
	variablePart = regexp.MustCompile(`^\{[A-Za-z0-9._\-]+\+?\}$`)
)

// MsgBadPathPart is AWS's text for a path part with characters it does not allow.
const MsgBadPathPart = "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end and an optional plus sign before the closing brace."

// ValidatePathPart checks the characters of one path part: a literal of [A-Za-z0-9._-:,], a
// variable {name} or a greedy variable {name+}.
func ValidatePathPart(part string) error {
	if literalPart.MatchString(part) || variablePart.MatchString(part) {
		return nil
	}
	return apigw.BadRequest(MsgBadPathPart)
}

// CheckChild checks that a resource named pathPart may be a child of parent within rs, in AWS's
// order: greedy parent → characters → a sibling with the same name (409) → a second variable
// sibling. selfID names the resource being renamed or moved ("" on create), which is not its own
// sibling.
func CheckChild(rs []*apigw.Resource, parent *apigw.Resource, pathPart, selfID string) error {
	if apigw.IsGreedy(parent.PathPart) {
		return apigw.BadRequest("Cannot create a child of a resource with a greedy path variable: %s", parent.PathPart)
	}
	if err := ValidatePathPart(pathPart); err != nil {
		return err
	}
	siblings := apigw.Children(rs, parent.ID)
	for _, s := range siblings {
		if s.ID != selfID && s.PathPart == pathPart {
			return apigw.Conflict("Another resource with the same parent already has this name: %s", pathPart)
		}
	}
	if apigw.IsVariable(pathPart) {
		for _, s := range siblings {
			if s.ID != selfID && apigw.IsVariable(s.PathPart) {
				return apigw.BadRequest("A sibling (%s) of this resource already has a variable path part -- only one is allowed", s.PathPart)
			}
		}
	}
	return nil
}

// AddResource validates and appends a new child of parentID named pathPart to api, with a fresh
// 6-character id unique within the API. A missing parent is the 404 every resource call uses.
func AddResource(api *apigw.RestApi, parentID, pathPart string) (*apigw.Resource, error) {
	parent := api.Resource(parentID)
	if parent == nil {
		return nil, apigw.NotFound(apigw.MsgInvalidResourceID)
	}
	if err := CheckChild(api.Resources, parent, pathPart, ""); err != nil {
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
