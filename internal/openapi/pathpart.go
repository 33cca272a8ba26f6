package openapi

import (
	"regexp"

	"github.com/tollgate/tollgate/internal/apigw"
)

// Path-part rules (addendum §4.3, §4.4, A20). They are CreateResource's; they live here because
// control imports this package (so this package cannot import control's), and an import must refuse
// exactly the trees CreateResource would refuse.
const (
	MsgInvalidPathPart = "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end and an optional plus sign before the closing brace."
	msgGreedyParent    = "Cannot create a child of a resource with a greedy path variable: %s"
	msgVariableSibling = "A sibling (%s) of this resource already has a variable path part -- only one is allowed"
	msgDuplicatePart   = "Another resource with the same parent already has this name: %s"
)

var (
	literalPart  = regexp.MustCompile(`^[A-Za-z0-9._\-:,]+$`)
	variablePart = regexp.MustCompile(`^\{[A-Za-z0-9._\-]+\+?\}$`)
)

// ValidPathPart reports whether p is a literal or a {name} / {name+} variable path part.
func ValidPathPart(p string) bool {
	return literalPart.MatchString(p) || variablePart.MatchString(p)
}

// ValidateTree checks a whole resource tree against the CreateResource rules: every path part
// valid, no child under a greedy resource, at most one variable child per parent, no two siblings
// with the same path part. PutRestApi runs it on the merged tree, where the document and the
// existing API can each be valid and still clash (/pets/{id} existing, /pets/{petId} imported).
// The first violation, in pre-order, is returned as the error CreateResource would give.
func ValidateTree(rs []*apigw.Resource) error {
	byID := make(map[string]*apigw.Resource, len(rs))
	for _, r := range rs {
		byID[r.ID] = r
	}
	type sibs struct {
		variable string
		names    map[string]bool
	}
	children := map[string]*sibs{}
	for _, r := range apigw.PreOrder(rs) {
		if r.ParentID == "" {
			continue
		}
		if !ValidPathPart(r.PathPart) {
			return apigw.BadRequest(MsgInvalidPathPart)
		}
		if p := byID[r.ParentID]; p != nil && apigw.IsGreedy(p.PathPart) {
			return apigw.BadRequest(msgGreedyParent, p.PathPart)
		}
		s := children[r.ParentID]
		if s == nil {
			s = &sibs{names: map[string]bool{}}
			children[r.ParentID] = s
		}
		if s.names[r.PathPart] {
			return apigw.Conflict(msgDuplicatePart, r.PathPart)
		}
		s.names[r.PathPart] = true
		if apigw.IsVariable(r.PathPart) {
			if s.variable != "" {
				return apigw.BadRequest(msgVariableSibling, s.variable)
			}
			s.variable = r.PathPart
		}
	}
	return nil
}
