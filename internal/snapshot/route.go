package snapshot

import (
	"strings"

	"github.com/tollgate/tollgate/internal/apigw"
)

// node is one resource of a deployed tree, compiled for matching.
type node struct {
	path     string           // resource path template, e.g. "/pets/{id}"
	literal  map[string]*node // children with a literal path part
	param    *node            // the {name} child, if any
	greedy   *node            // the {name+} child, if any
	varName  string           // for param/greedy nodes: the variable name
	methods  map[string]*Method
	anyVerb  *Method
	resource *apigw.Resource
}

// compileTree builds the route tree of a deployment's resources.
func compileTree(rs []*apigw.Resource, compile func(n *node, m *apigw.Method) *Method) *node {
	byParent := map[string][]*apigw.Resource{}
	var root *apigw.Resource
	for _, r := range rs {
		if r.ParentID == "" {
			root = r
			continue
		}
		byParent[r.ParentID] = append(byParent[r.ParentID], r)
	}
	if root == nil {
		return nil
	}
	var build func(r *apigw.Resource, path string) *node
	build = func(r *apigw.Resource, path string) *node {
		n := &node{path: path, resource: r}
		for verb, m := range r.Methods {
			cm := compile(n, m)
			if verb == "ANY" {
				n.anyVerb = cm
				continue
			}
			if n.methods == nil {
				n.methods = map[string]*Method{}
			}
			n.methods[verb] = cm
		}
		for _, c := range byParent[r.ID] {
			childPath := path + "/" + c.PathPart
			if path == "/" {
				childPath = "/" + c.PathPart
			}
			cn := build(c, childPath)
			switch {
			case apigw.IsGreedy(c.PathPart):
				cn.varName = c.PathPart[1 : len(c.PathPart)-2]
				n.greedy = cn
			case apigw.IsVariable(c.PathPart):
				cn.varName = c.PathPart[1 : len(c.PathPart)-1]
				n.param = cn
			default:
				if n.literal == nil {
					n.literal = map[string]*node{}
				}
				n.literal[c.PathPart] = cn
			}
		}
		return n
	}
	return build(root, "/")
}

// Params holds the path variables a match captured. It is a fixed array so that matching does
// not allocate; APIs deeper than MaxParams variables are refused at match time.
type Params struct {
	n     int
	names [MaxParams]string
	vals  [MaxParams]string
}

// MaxParams bounds the path variables of one route.
const MaxParams = 16

// Get returns the value of a path variable ("" if absent).
func (p *Params) Get(name string) string {
	for i := 0; i < p.n; i++ {
		if p.names[i] == name {
			return p.vals[i]
		}
	}
	return ""
}

// Len returns the number of captured variables.
func (p *Params) Len() int { return p.n }

// At returns the i-th captured variable.
func (p *Params) At(i int) (name, value string) { return p.names[i], p.vals[i] }

func (p *Params) push(name, val string) bool {
	if p.n == MaxParams {
		return false
	}
	p.names[p.n], p.vals[p.n] = name, val
	p.n++
	return true
}

// match finds the method serving verb on path (the part after the stage, with its leading "/"),
// following addendum §8.3: candidates compared left to right, literal > {param} > {greedy+},
// selection on the (resource, verb) pair — the most specific resource that has the verb (or ANY)
// wins, otherwise matching falls through to the next candidate. {greedy+} matches one or more
// segments, never zero. Trailing slashes are ignored for matching; a greedy value keeps its own.
func (n *node) match(verb, path string, p *Params) *Method {
	rest := strings.TrimPrefix(path, "/")
	return n.matchFrom(verb, rest, p)
}

func (n *node) verbMethod(verb string) *Method {
	if m := n.methods[verb]; m != nil {
		return m
	}
	return n.anyVerb
}

func (n *node) matchFrom(verb, rest string, p *Params) *Method {
	if rest == "" {
		return n.verbMethod(verb)
	}
	seg, tail, _ := strings.Cut(rest, "/")
	if seg == "" {
		// "//" inside a path: an empty segment matches nothing.
		return nil
	}
	mark := p.n
	if c := n.literal[seg]; c != nil {
		if m := c.matchFrom(verb, tail, p); m != nil {
			return m
		}
		p.n = mark
	}
	if c := n.param; c != nil {
		if p.push(c.varName, seg) {
			if m := c.matchFrom(verb, tail, p); m != nil {
				return m
			}
		}
		p.n = mark
	}
	if c := n.greedy; c != nil {
		if m := c.verbMethod(verb); m != nil && p.push(c.varName, rest) {
			return m
		}
		p.n = mark
	}
	return nil
}
