package awswire

import "github.com/tollgate/tollgate/internal/apigw"

// Resource is the wire form of a resource (addendum §2.2). The root carries only id and path.
type Resource struct {
	ID       string `json:"id"`
	ParentID string `json:"parentId,omitempty"`
	PathPart string `json:"pathPart,omitempty"`
	Path     string `json:"path"`
	// ResourceMethods is present only when the resource has methods; its values are {} unless the
	// caller asked for embed=methods, then full Methods.
	ResourceMethods map[string]any `json:"resourceMethods,omitempty"`
}

// ResourceOf builds the wire Resource; path is its full path (computed from the tree by the
// caller) and embed selects full methods over empty objects.
func ResourceOf(r *apigw.Resource, path string, embed bool) Resource {
	out := Resource{ID: r.ID, ParentID: r.ParentID, PathPart: r.PathPart, Path: path}
	if len(r.Methods) > 0 {
		out.ResourceMethods = make(map[string]any, len(r.Methods))
		for verb, m := range r.Methods {
			if embed {
				out.ResourceMethods[verb] = MethodOf(m, true)
			} else {
				out.ResourceMethods[verb] = struct{}{}
			}
		}
	}
	return out
}

// Resources is the GetResources body: {"item":[…],"position"?}.
type Resources struct {
	Item     []Resource `json:"item"`
	Position string     `json:"position,omitempty"`
}
