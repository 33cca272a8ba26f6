package apigw

import (
	"encoding/json"
	"strings"
)

// Resource returns the resource with the given id, or nil.
func (a *RestApi) Resource(id string) *Resource {
	for _, r := range a.Resources {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// Children returns the direct children of a resource, in creation order.
func (a *RestApi) Children(id string) []*Resource {
	return Children(a.Resources, id)
}

// Children returns the direct children of parentID within rs, in creation order.
func Children(rs []*Resource, parentID string) []*Resource {
	var out []*Resource
	for _, r := range rs {
		if r.ParentID == parentID && r.ID != parentID {
			out = append(out, r)
		}
	}
	return out
}

// ResourcePath returns the full path of resource id within rs ("/" for the root,
// "/pets/{id}" for a child), or "" if id is unknown. Cycles cannot occur: UpdateResource refuses
// them.
func ResourcePath(rs []*Resource, id string) string {
	byID := make(map[string]*Resource, len(rs))
	for _, r := range rs {
		byID[r.ID] = r
	}
	r := byID[id]
	if r == nil {
		return ""
	}
	var parts []string
	for r != nil && r.ParentID != "" {
		parts = append(parts, r.PathPart)
		r = byID[r.ParentID]
	}
	if len(parts) == 0 {
		return "/"
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(parts[i])
	}
	return b.String()
}

// Path returns the full path of one of the API's resources.
func (a *RestApi) Path(id string) string { return ResourcePath(a.Resources, id) }

// PreOrder returns rs in pre-order from the root (root first, then each child's subtree in
// creation order): the order GetResources lists.
func PreOrder(rs []*Resource) []*Resource {
	out := make([]*Resource, 0, len(rs))
	var walk func(parent string)
	walk = func(parent string) {
		for _, c := range Children(rs, parent) {
			out = append(out, c)
			walk(c.ID)
		}
	}
	for _, r := range rs {
		if r.ParentID == "" {
			out = append(out, r)
			walk(r.ID)
		}
	}
	return out
}

// CloneResources deep-copies a resource tree (deployments freeze the API with it).
func CloneResources(rs []*Resource) []*Resource {
	b, err := json.Marshal(rs)
	if err != nil {
		panic("apigw: cloning resources: " + err.Error())
	}
	var out []*Resource
	if err := json.Unmarshal(b, &out); err != nil {
		panic("apigw: cloning resources: " + err.Error())
	}
	return out
}

// IsGreedy reports whether a path part is a greedy variable ({name+}).
func IsGreedy(pathPart string) bool {
	return strings.HasPrefix(pathPart, "{") && strings.HasSuffix(pathPart, "+}")
}

// IsVariable reports whether a path part is a variable ({name} or {name+}).
func IsVariable(pathPart string) bool {
	return strings.HasPrefix(pathPart, "{") && strings.HasSuffix(pathPart, "}")
}
