package apigw

import "regexp"

// Path-part and resource-tree rules (addendum §4.3, §4.4, A20). CreateResource, UpdateResource
// and the OpenAPI importer all go through these, so an imported tree obeys exactly the rules a
// hand-built one does.

var (
	literalPart  = regexp.MustCompile(`^[A-Za-z0-9._\-:,]+$`)
	variablePart = regexp.MustCompile(`^\{[A-Za-z0-9._\-]+\+?\}$`)
)

// AWS's texts for the tree rules.
const (
	MsgBadPathPart     = "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end and an optional plus sign before the closing brace."
	msgGreedyParent    = "Cannot create a child of a resource with a greedy path variable: %s"
	msgVariableSibling = "A sibling (%s) of this resource already has a variable path part -- only one is allowed"
	msgDuplicatePart   = "Another resource with the same parent already has this name: %s"
)

// ValidPathPart reports whether p is a literal of [A-Za-z0-9._-:,] or a {name} / {name+} variable.
func ValidPathPart(p string) bool {
	return literalPart.MatchString(p) || variablePart.MatchString(p)
}

// ValidatePathPart is ValidPathPart as AWS's 400.
func ValidatePathPart(part string) error {
	if ValidPathPart(part) {
		return nil
	}
	return BadRequest(MsgBadPathPart)
}

// CheckChild checks that a resource named pathPart may be a child of parent within rs, in AWS's
// order: greedy parent → characters → a sibling with the same name (409) → a second variable
// sibling. selfID names the resource being renamed or moved ("" on create), which is not its own
// sibling.
func CheckChild(rs []*Resource, parent *Resource, pathPart, selfID string) error {
	if IsGreedy(parent.PathPart) {
		return BadRequest(msgGreedyParent, parent.PathPart)
	}
	if err := ValidatePathPart(pathPart); err != nil {
		return err
	}
	siblings := Children(rs, parent.ID)
	for _, s := range siblings {
		if s.ID != selfID && s.PathPart == pathPart {
			return Conflict(msgDuplicatePart, pathPart)
		}
	}
	if IsVariable(pathPart) {
		for _, s := range siblings {
			if s.ID != selfID && IsVariable(s.PathPart) {
				return BadRequest(msgVariableSibling, s.PathPart)
			}
		}
	}
	return nil
}

// ValidateTree checks a whole resource tree against the CreateResource rules: every path part
// valid, no child under a greedy resource, at most one variable child per parent, no two siblings
// with the same path part. PutRestApi runs it on the merged tree, where the document and the
// existing API can each be valid and still clash (/pets/{id} existing, /pets/{petId} imported).
// The first violation, in pre-order, is returned as the error CreateResource would give.
func ValidateTree(rs []*Resource) error {
	byID := make(map[string]*Resource, len(rs))
	for _, r := range rs {
		byID[r.ID] = r
	}
	type sibs struct {
		variable string
		names    map[string]bool
	}
	children := map[string]*sibs{}
	for _, r := range PreOrder(rs) {
		if r.ParentID == "" {
			continue
		}
		if !ValidPathPart(r.PathPart) {
			return BadRequest(MsgBadPathPart)
		}
		if p := byID[r.ParentID]; p != nil && IsGreedy(p.PathPart) {
			return BadRequest(msgGreedyParent, p.PathPart)
		}
		s := children[r.ParentID]
		if s == nil {
			s = &sibs{names: map[string]bool{}}
			children[r.ParentID] = s
		}
		if s.names[r.PathPart] {
			return Conflict(msgDuplicatePart, r.PathPart)
		}
		s.names[r.PathPart] = true
		if IsVariable(r.PathPart) {
			if s.variable != "" {
				return BadRequest(msgVariableSibling, s.variable)
			}
			s.variable = r.PathPart
		}
	}
	return nil
}
