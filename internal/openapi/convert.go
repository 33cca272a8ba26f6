package openapi

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/tollgate/tollgate/internal/apigw"
)

// Base path modes: the `basepath` import parameter (addendum §10).
const (
	BasePathIgnore  = "ignore"
	BasePathPrepend = "prepend"
	BasePathSplit   = "split"
)

// Options steer one conversion.
type Options struct {
	// BasePath is ignore (default when ""), prepend or split.
	BasePath string
	// MaxResources, when positive, bounds the resources the document creates (root included):
	// the conversion stops with ErrTooManyResources at the first one over.
	MaxResources int
	// RootID is the id the root resource gets (the API's root resource id).
	RootID string
	// ExistingIDs maps resource paths of the API being updated to their ids, so that a path the
	// document shares with the API keeps its resource id (PutRestApi). Nil for ImportRestApi.
	ExistingIDs map[string]string
	// NewID returns a fresh resource id; nil means apigw.NewID(apigw.ResourceIDLen).
	NewID func() string
	// ExistingAuthorizers maps the names of the API's authorizers to their ids (PutRestApi), so
	// that a scheme of the same name keeps its authorizer's id.
	ExistingAuthorizers map[string]string
}

// Result is what a document defines. Empty strings and nil pointers / slices mean "the document
// does not say", which matters for PutRestApi's merge mode (addendum §7.2, A15).
type Result struct {
	Name        string // info.title
	Description string // info.description
	Version     string // info.version, numbers rendered as written
	// ApiKeySource is x-amazon-apigateway-api-key-source (HEADER or AUTHORIZER).
	ApiKeySource string
	// GatewayResponses is x-amazon-apigateway-gateway-responses by type; nil when absent.
	GatewayResponses map[string]*apigw.GatewayResponse
	// Authorizers are the security schemes' x-amazon-apigateway-authorizer, by scheme name.
	Authorizers []*apigw.Authorizer
	// BinaryMediaTypes is x-amazon-apigateway-binary-media-types; nil when absent.
	BinaryMediaTypes []string
	// Policy is x-amazon-apigateway-policy as compact JSON text.
	Policy string
	// MinimumCompressionSize is x-amazon-apigateway-minimum-compression-size.
	MinimumCompressionSize *int64
	// DisableExecuteApiEndpoint and VpcEndpointIDs come from x-amazon-apigateway-endpoint-configuration.
	DisableExecuteApiEndpoint *bool
	VpcEndpointIDs            []string
	// Resources is the document's resource tree in pre-order, root first (ID = Options.RootID).
	Resources []*apigw.Resource
	// Models names the document's models (definitions / components.schemas), sorted.
	Models []string
	// Warnings, in document order; never nil-vs-empty significant.
	Warnings []string
}

// conv is the state of one conversion.
type conv struct {
	d      *Document
	opts   Options
	res    *Result
	models map[string]bool
	byPath map[string]*apigw.Resource
	order  []*apigw.Resource
	err    error // the first refusal: a setting the gateway could not enforce
	authz  map[string]*apigw.Authorizer
}

// refuse fails the import: the document asks for a check Tollgate cannot enforce, and building
// the method without it would open what the author meant to close.
func (c *conv) refuse(format string, args ...any) {
	if c.err == nil {
		c.err = apigw.BadRequest(format, args...)
	}
}

func (c *conv) warn(format string, args ...any) {
	c.res.Warnings = append(c.res.Warnings, fmt.Sprintf(format, args...))
}

// Convert maps the document onto API Gateway objects. Errors are *apigw.Error (400, 409, or 429
// over MaxResources) and mean nothing may be applied; warnings are in the result.
func (d *Document) Convert(opts Options) (*Result, error) {
	if opts.NewID == nil {
		opts.NewID = func() string { return apigw.NewID(apigw.ResourceIDLen) }
	}
	prefix, err := basePrefix(d.basePath, opts.BasePath)
	if err != nil {
		return nil, err
	}
	c := &conv{d: d, opts: opts, res: &Result{}, byPath: map[string]*apigw.Resource{}}
	c.res.Warnings = append(c.res.Warnings, d.parseWarnings...)
	if info := d.doc.Info; info != nil {
		c.res.Name, c.res.Description, c.res.Version = info.Title, info.Description, info.Version
	}
	if err := c.topLevel(); err != nil {
		return nil, err
	}
	c.collectModels()
	c.authorizers()
	root := &apigw.Resource{ID: opts.RootID}
	c.byPath["/"] = root
	c.order = append(c.order, root)
	if _, err := c.ensure(prefix); err != nil {
		return nil, err
	}
	if err := c.paths(prefix); err != nil {
		return nil, err
	}
	if c.err != nil {
		return nil, c.err
	}
	if err := apigw.ValidateTree(c.order); err != nil {
		return nil, err
	}
	c.res.Resources = apigw.PreOrder(c.order)
	return c.res, nil
}

// basePrefix returns the path segments the base-path mode puts in front of every document path.
func basePrefix(basePath, mode string) ([]string, error) {
	segs := splitPath(basePath)
	switch mode {
	case "", BasePathIgnore:
		return nil, nil
	case BasePathPrepend:
		return segs, nil
	case BasePathSplit:
		if len(segs) <= 1 {
			return nil, nil
		}
		return segs[1:], nil
	}
	return nil, apigw.BadRequest("Invalid basepath parameter specified: %s. Must be one of: [ignore, prepend, split]", mode)
}

func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func joinPath(segs []string) string { return "/" + strings.Join(segs, "/") }

// ensure returns the resource at segs, creating it and any missing ancestor (intermediate
// resources are method-less, addendum §10).
func (c *conv) ensure(segs []string) (*apigw.Resource, error) {
	parent := c.byPath["/"]
	for i, seg := range segs {
		if !apigw.ValidPathPart(seg) {
			return nil, apigw.BadRequest(apigw.MsgBadPathPart)
		}
		p := joinPath(segs[:i+1])
		r := c.byPath[p]
		if r == nil {
			id := c.opts.ExistingIDs[p]
			if id == "" {
				id = c.opts.NewID()
			}
			if c.opts.MaxResources > 0 && len(c.byPath) >= c.opts.MaxResources {
				return nil, ErrTooManyResources()
			}
			r = &apigw.Resource{ID: id, ParentID: parent.ID, PathPart: seg}
			c.byPath[p] = r
			c.order = append(c.order, r)
		}
		parent = r
	}
	return parent, nil
}

// verbs are the operation keys that become methods, in the order methods are built.
var verbs = []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"}

func (c *conv) paths(prefix []string) error {
	if c.d.doc.Paths == nil {
		return nil
	}
	c.unsupportedExtensions(c.d.doc.Paths.Extensions, " in paths")
	items := c.d.doc.Paths.Map()
	for _, key := range sortedKeys(items) {
		item := items[key]
		segs := append(append([]string(nil), prefix...), splitPath(key)...)
		r, err := c.ensure(segs)
		if err != nil {
			return err
		}
		if item == nil {
			continue
		}
		full := joinPath(segs)
		c.pathItemExtensions(item, full)
		for _, verb := range verbs {
			if op := item.GetOperation(verb); op != nil {
				c.addMethod(r, full, verb, item, op)
			}
		}
		for _, other := range []struct {
			name string
			op   *openapi3.Operation
		}{{"TRACE", item.Trace}, {"CONNECT", item.Connect}, {"QUERY", item.Query}} {
			if other.op != nil {
				c.warn("Method %s of resource '%s' is not supported by API Gateway and was ignored", other.name, full)
			}
		}
		if op := c.d.anyMethods[key]; op != nil {
			c.addMethod(r, full, "ANY", item, op)
		}
	}
	return nil
}

func (c *conv) addMethod(r *apigw.Resource, full, verb string, item *openapi3.PathItem, op *openapi3.Operation) {
	m := c.method(r, full, verb, item, op)
	if r.Methods == nil {
		r.Methods = map[string]*apigw.Method{}
	}
	r.Methods[verb] = m
}

// pathItemExtensions warns about API Gateway extensions on a path item other than the any-method.
func (c *conv) pathItemExtensions(item *openapi3.PathItem, full string) {
	ext := map[string]any{}
	for k, v := range item.Extensions {
		if k != extAnyMethod {
			ext[k] = v
		}
	}
	c.unsupportedExtensions(ext, fmt.Sprintf(" in resource '%s'", full))
}

var modelName = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// collectModels records the document's models; names API Gateway cannot hold are warned about.
func (c *conv) collectModels() {
	// Every API has Empty and Error, so references to them resolve even if the document does
	// not define them.
	c.models = map[string]bool{"Empty": true, "Error": true}
	comps := c.d.doc.Components
	if comps == nil {
		return
	}
	for _, name := range sortedKeys(comps.Schemas) {
		if !modelName.MatchString(name) {
			c.warn("Model name '%s' is not alphanumeric; the model was not created", name)
			continue
		}
		c.models[name] = true
		c.res.Models = append(c.res.Models, name)
	}
	sort.Strings(c.res.Models)
}

// displayRef shows a reference as the document wrote it (Swagger's #/definitions/…, not the
// OpenAPI 3 form the conversion produced).
func (c *conv) displayRef(ref string) string {
	if c.d.swagger {
		return openapi2conv.FromV3Ref(ref)
	}
	return ref
}

// modelRef turns a schema $ref into a model name, warning when it names no model of the document.
func (c *conv) modelRef(ref, where string) (string, bool) {
	name, ok := strings.CutPrefix(ref, "#/components/schemas/")
	if !ok {
		name, ok = strings.CutPrefix(ref, "#/definitions/")
	}
	if !ok || !c.models[name] {
		c.warn("Unable to resolve model reference '%s' %s; the reference was ignored", c.displayRef(ref), where)
		return "", false
	}
	return name, true
}
