package control

import (
	"context"
	"github.com/tollgate/tollgate/internal/openapi"
	"slices"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/store"
)

// ResourceView is a resource with its full path, which the wire form carries but the tree only
// implies.
type ResourceView struct {
	Resource *apigw.Resource
	Path     string
}

// apiOfResource reads the API a resource-level call addresses. AWS does not check the API on its
// own below the API level: a wrong API id reads as a wrong resource id (addendum §1.3).
func apiOfResource(tx store.Tx, apiID string) (*apigw.RestApi, error) {
	a, err := tx.GetRestApi(apiID)
	if err != nil {
		return nil, notFound(err, apigw.NotFound(apigw.MsgInvalidResourceID))
	}
	return a, nil
}

// findResource reads the API and one of its resources, both missing cases being the Resource 404.
func findResource(tx store.Tx, apiID, resourceID string) (*apigw.RestApi, *apigw.Resource, error) {
	a, err := apiOfResource(tx, apiID)
	if err != nil {
		return nil, nil, err
	}
	r := a.Resource(resourceID)
	if r == nil {
		return nil, nil, apigw.NotFound(apigw.MsgInvalidResourceID)
	}
	return a, r, nil
}

// GetResources lists an API's resources in pre-order (root first, then each subtree in creation
// order), one page at a time; the cursor is the id of the first resource of the page.
func (s *Service) GetResources(ctx context.Context, region, apiID, cursor string, limit int) (Page[ResourceView], error) {
	var p Page[ResourceView]
	err := s.view(ctx, region, func(tx store.Tx) error {
		a, err := s.getAPI(tx, apiID)
		if err != nil {
			return err
		}
		items, next, err := idPage(apigw.PreOrder(a.Resources), func(r *apigw.Resource) string { return r.ID }, cursor, limit)
		if err != nil {
			return err
		}
		for _, r := range items {
			p.Items = append(p.Items, ResourceView{Resource: r, Path: a.Path(r.ID)})
		}
		p.Next = next
		return nil
	})
	return p, err
}

// GetResource returns one resource.
func (s *Service) GetResource(ctx context.Context, region, apiID, resourceID string) (ResourceView, error) {
	var v ResourceView
	err := s.view(ctx, region, func(tx store.Tx) error {
		a, r, err := findResource(tx, apiID, resourceID)
		if err != nil {
			return err
		}
		v = ResourceView{Resource: r, Path: a.Path(r.ID)}
		return nil
	})
	return v, err
}

// CreateResourceInput is the CreateResource body.
type CreateResourceInput struct {
	PathPart *string `json:"pathPart"`
}

// CreateResource adds a child under parentID (addendum §4.3). Checks run in AWS's order: parent
// exists → parent greedy → characters → duplicate name (409) → second variable sibling.
func (s *Service) CreateResource(ctx context.Context, region, apiID, parentID string, in CreateResourceInput) (ResourceView, error) {
	var v ResourceView
	err := s.update(ctx, region, func(tx store.Tx) error {
		a, _, err := findResource(tx, apiID, parentID)
		if err != nil {
			return err
		}
		if in.PathPart == nil {
			return patch.ValidationErrors([]string{"Value null at 'createResourceInput.pathPart' failed to satisfy constraint: Member must not be null"})
		}
		if len(a.Resources) >= s.MaxResourcesPerAPI() {
			return openapi.ErrTooManyResources()
		}
		r, err := AddResource(a, parentID, *in.PathPart)
		if err != nil {
			return err
		}
		if err := tx.PutRestApi(a); err != nil {
			return err
		}
		v = ResourceView{Resource: r, Path: a.Path(r.ID)}
		return nil
	})
	return v, err
}

// UpdateResource renames or moves a resource (addendum §4.5); descendants' paths follow.
func (s *Service) UpdateResource(ctx context.Context, region, apiID, resourceID string, ops []patch.Op) (ResourceView, error) {
	if err := patch.Validate(ops, "updateResourceInput"); err != nil {
		return ResourceView{}, err
	}
	var v ResourceView
	err := s.update(ctx, region, func(tx store.Tx) error {
		a, r, err := findResource(tx, apiID, resourceID)
		if err != nil {
			return err
		}
		for _, op := range ops {
			if err := applyResourceOp(a, r, op); err != nil {
				return err
			}
		}
		if err := tx.PutRestApi(a); err != nil {
			return err
		}
		v = ResourceView{Resource: r, Path: a.Path(r.ID)}
		return nil
	})
	return v, err
}

// applyResourceOp applies one UpdateResource op to r, a resource of a (a fresh copy read in the
// transaction, discarded if any op fails).
func applyResourceOp(a *apigw.RestApi, r *apigw.Resource, op patch.Op) error {
	if op.Op != "replace" {
		return patch.UnsupportedOp(op.Path, op.Op)
	}
	switch op.Path {
	case "/pathPart":
		if r.ParentID == "" {
			return apigw.BadRequest("Root resource cannot update its pathPart.")
		}
		v := op.V()
		if err := apigw.CheckChild(a.Resources, a.Resource(r.ParentID), v, r.ID); err != nil {
			return err
		}
		if apigw.IsGreedy(v) && len(a.Children(r.ID)) > 0 {
			return apigw.BadRequest("Cannot create a child of a resource with a greedy path variable: %s", v)
		}
		r.PathPart = v
	case "/parentId":
		if r.ParentID == "" {
			return apigw.BadRequest("Root resource cannot update its parentId.")
		}
		v := op.V()
		parent := a.Resource(v)
		if parent == nil {
			return apigw.NotFound(apigw.MsgInvalidResourceID)
		}
		if isDescendant(a.Resources, v, r.ID) {
			return apigw.BadRequest("Resources cannot be cyclical.")
		}
		if err := apigw.CheckChild(a.Resources, parent, r.PathPart, r.ID); err != nil {
			return err
		}
		r.ParentID = v
	default:
		return patch.InvalidPath(op.Path, op.Op, []string{"/parentId", "/pathPart"})
	}
	return nil
}

// DeleteResource deletes a resource with its descendants and their methods (addendum §4.6).
func (s *Service) DeleteResource(ctx context.Context, region, apiID, resourceID string) error {
	return s.update(ctx, region, func(tx store.Tx) error {
		a, r, err := findResource(tx, apiID, resourceID)
		if err != nil {
			return err
		}
		if r.ParentID == "" {
			return apigw.BadRequest("Cannot delete root resource")
		}
		gone := subtree(a.Resources, r.ID)
		kept := a.Resources[:0:0]
		for _, x := range a.Resources {
			if !gone[x.ID] {
				kept = append(kept, x)
			}
		}
		a.Resources = kept
		return tx.PutRestApi(a)
	})
}

// idPage cuts one page of an in-memory list: the items from the one whose id is cursor ("" for
// the first page), at most limit of them, and the id that starts the next page ("" at the end).
// A cursor naming no item is AWS's "Invalid position specified".
func idPage[T any](all []T, id func(T) string, cursor string, limit int) ([]T, string, error) {
	start := 0
	if cursor != "" {
		start = slices.IndexFunc(all, func(x T) bool { return id(x) == cursor })
		if start < 0 {
			return nil, "", apigw.BadRequest("Invalid position specified")
		}
	}
	end := len(all)
	if limit > 0 {
		end = min(start+limit, len(all))
	}
	next := ""
	if end < len(all) {
		next = id(all[end])
	}
	return all[start:end], next, nil
}
