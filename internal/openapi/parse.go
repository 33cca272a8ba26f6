// Package openapi turns an OpenAPI 3.0 or Swagger 2.0 document (JSON or YAML) into the parts of an
// API Gateway REST API that ImportRestApi and PutRestApi create: the top-level RestApi fields, the
// resource tree with its methods and integrations, and the import warnings (addendum §7, §10).
// It is pure conversion: no store, no clock. Parsing (Parse) is separate from conversion
// (Document.Convert) because PutRestApi must reject an unparsable body before it looks the API up,
// and conversion needs the existing API's resource ids.
//
// kin-openapi reads the documents; Swagger 2.0 goes through openapi2conv so that one mapping serves
// both versions. References are resolved here, not by kin's loader: AWS treats a missing model
// reference as a warning, while the loader fails the whole document.
package openapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	yamlv4 "go.yaml.in/yaml/v4"
	"sigs.k8s.io/yaml"

	"github.com/tollgate/tollgate/internal/apigw"
)

// Error texts AWS answers for documents it cannot import (addendum §7.3).
const (
	MsgInvalidInput = "Invalid OpenAPI input."
	MsgNoImporter   = "Unable to build importer with provided input."
)

// Document is a parsed OpenAPI document, ready to convert. It is read-only after Parse, so Convert
// may run more than once (store transactions can retry).
type Document struct {
	doc *openapi3.T
	// swagger is true for Swagger 2.0 input (converted to doc).
	swagger bool
	// basePath is Swagger's basePath or OAS3's servers[0] base path ("" when none).
	basePath string
	// anyMethods holds each path's x-amazon-apigateway-any-method operation, decoded.
	anyMethods map[string]*openapi3.Operation
	// parseWarnings are found while reading (e.g. a security scheme kin cannot convert).
	parseWarnings []string
}

// Parse reads a document. A body that is neither JSON nor YAML (or is not a mapping) is
// "Invalid OpenAPI input."; a mapping that is not a Swagger 2.0 / OpenAPI 3.0 document with paths is
// "Unable to build importer with provided input." (addendum §7.3, A14).
func Parse(body []byte) (*Document, error) { return ParseLimited(body, Limits{}) }

// API Gateway's documented import limits (Amazon API Gateway quotas: "API definition file size,
// 6 MB"; "Resources per API, 300", which can be raised — here --max-resources-per-api).
const (
	MaxDefinitionBytes    = 6 << 20
	DefaultMaxResources   = 300
	MsgDefinitionTooLarge = "The API definition file exceeds the maximum size of 6 MB."
	// MsgTooManyResources is AWS's LimitExceededException text (two spaces included).
	MsgTooManyResources = "Maximum number of Resources for this API has been reached.  Please contact AWS if you need additional Resources."
)

// Limits bound an import; zero fields do not limit.
type Limits struct {
	MaxBytes     int // the document's size
	MaxResources int // resources of the API, the root included
}

// ErrTooManyResources is the LimitExceededException of an API over its resource limit.
func ErrTooManyResources() error {
	return apigw.Errorf(apigw.KindLimitExceeded, MsgTooManyResources)
}

// ParseLimited is Parse within limits, checked as early as they can be: the size before
// anything is decoded, and the resources the paths imply before the document is built, which is
// where a document of 20,000 paths spent its time and memory: for JSON by a token scan of the
// path keys before any decode (jsonOverResources), for YAML right after the generic decode.
func ParseLimited(body []byte, l Limits) (*Document, error) {
	if l.MaxBytes > 0 && len(body) > l.MaxBytes {
		return nil, apigw.BadRequest(MsgDefinitionTooLarge)
	}
	if l.MaxResources > 0 && json.Valid(body) && jsonOverResources(body, l.MaxResources) {
		return nil, ErrTooManyResources()
	}
	tree, isYAML, err := decodeTree(body)
	if err != nil {
		return nil, err
	}
	if l.MaxResources > 0 { // YAML, or a JSON document whose paths the scan could not read
		if paths, ok := tree["paths"].(map[string]any); ok && impliedResources(paths, l.MaxResources) > l.MaxResources {
			return nil, ErrTooManyResources()
		}
	}
	if isYAML {
		restoreYAMLScalars(body, tree)
	}
	swaggerV, isSwagger := tree["swagger"]
	openapiV, isOAS := tree["openapi"]
	paths, _ := tree["paths"].(map[string]any)
	switch {
	case isSwagger && isOAS, !isSwagger && !isOAS, paths == nil:
		return nil, apigw.BadRequest(MsgNoImporter)
	case isSwagger:
		if scalarString(swaggerV) != "2" && scalarString(swaggerV) != "2.0" {
			return nil, apigw.BadRequest(MsgNoImporter)
		}
		tree["swagger"] = "2.0"
	default:
		v := scalarString(openapiV)
		// Real AWS answers an OpenAPI 3.1 document with "Invalid OpenAPI input." (a Terraform
		// user's capture); anything else that is not 3.0.x is not an OpenAPI document at all.
		if strings.HasPrefix(v, "3.1") {
			return nil, apigw.BadRequest(MsgInvalidInput)
		}
		if v != "3.0" && !strings.HasPrefix(v, "3.0.") {
			return nil, apigw.BadRequest(MsgNoImporter)
		}
		tree["openapi"] = v
	}
	normaliseInfo(tree)
	norm, err := json.Marshal(tree)
	if err != nil {
		return nil, &apigw.Error{Kind: apigw.KindBadRequest, Message: MsgInvalidInput, Cause: err}
	}
	if isSwagger {
		return parseSwagger(norm)
	}
	return parseOAS3(norm)
}

// decodeTree reads JSON, else YAML, into a generic tree whose top level must be a mapping.
func decodeTree(body []byte) (tree map[string]any, isYAML bool, err error) {
	js := body
	if !json.Valid(body) {
		if js, err = yaml.YAMLToJSON(body); err != nil {
			return nil, false, &apigw.Error{Kind: apigw.KindBadRequest, Message: MsgInvalidInput, Cause: err}
		}
		isYAML = true
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false, &apigw.Error{Kind: apigw.KindBadRequest, Message: MsgInvalidInput, Cause: err}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false, apigw.BadRequest(MsgInvalidInput)
	}
	return m, isYAML, nil
}

// restoreYAMLScalars puts back the text of unquoted non-string scalars the YAML-to-JSON step
// reinterprets: `version: 1.0` must import as "1.0", not "1" (and `010` not as octal 8). Only the
// version keys and info.title/version/description matter, as they become strings.
func restoreYAMLScalars(body []byte, tree map[string]any) {
	var doc yamlv4.Node
	if yamlv4.Unmarshal(body, &doc) != nil || len(doc.Content) == 0 {
		return
	}
	root := doc.Content[0]
	for k, v := range rawScalars(root) {
		if k == "openapi" || k == "swagger" {
			tree[k] = v
		}
	}
	info, ok := tree["info"].(map[string]any)
	if !ok {
		return
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "info" {
			for k, v := range rawScalars(root.Content[i+1]) {
				if k == "title" || k == "version" || k == "description" {
					info[k] = v
				}
			}
		}
	}
}

// rawScalars returns the source text of a mapping node's plain scalar values that are not strings.
func rawScalars(n *yamlv4.Node) map[string]string {
	out := map[string]string{}
	if n == nil || n.Kind != yamlv4.MappingNode {
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind == yamlv4.ScalarNode && v.Style == 0 && v.Tag != "!!str" && v.Tag != "!!null" {
			out[k.Value] = v.Value
		}
	}
	return out
}

// normaliseInfo makes info.title / version / description strings, as kin-openapi's types need:
// YAML writes `version: 1` unquoted and AWS imports it as "1" (addendum §2.1). Values that are not
// scalars (and an info that is not an object) are dropped rather than failing the import.
func normaliseInfo(tree map[string]any) {
	info, ok := tree["info"].(map[string]any)
	if !ok {
		delete(tree, "info")
		return
	}
	for _, k := range []string{"title", "version", "description"} {
		switch v := info[k].(type) {
		case string:
		case map[string]any, []any:
			delete(info, k)
		default:
			info[k] = scalarString(v) // numbers, booleans; null becomes ""
		}
	}
}

func parseOAS3(norm []byte) (*Document, error) {
	var t openapi3.T
	if err := json.Unmarshal(norm, &t); err != nil {
		return nil, &apigw.Error{Kind: apigw.KindBadRequest, Message: MsgInvalidInput, Cause: err}
	}
	d := &Document{doc: &t, anyMethods: map[string]*openapi3.Operation{}}
	d.basePath = oas3BasePath(t.Servers)
	if t.Paths != nil {
		for path, item := range t.Paths.Map() {
			if item == nil {
				continue
			}
			raw, ok := item.Extensions[extAnyMethod]
			if !ok {
				continue
			}
			b, err := json.Marshal(raw)
			if err != nil {
				return nil, &apigw.Error{Kind: apigw.KindBadRequest, Message: MsgInvalidInput, Cause: err}
			}
			var op openapi3.Operation
			if err := json.Unmarshal(b, &op); err != nil {
				return nil, &apigw.Error{Kind: apigw.KindBadRequest, Message: MsgInvalidInput, Cause: err}
			}
			d.anyMethods[path] = &op
		}
	}
	return d, nil
}

// parseSwagger reads a Swagger 2.0 document and converts it to OpenAPI 3 with openapi2conv's
// per-part converters. openapi2conv.ToV3 itself is not used: it resolves every $ref through kin's
// loader and fails on a missing one, where AWS only warns.
func parseSwagger(norm []byte) (d *Document, err error) {
	var t2 openapi2.T
	if err := json.Unmarshal(norm, &t2); err != nil {
		return nil, &apigw.Error{Kind: apigw.KindBadRequest, Message: MsgInvalidInput, Cause: err}
	}
	// openapi2conv panics on a few malformed inputs (form-data bookkeeping); an import must answer
	// 400, never take the server down.
	defer func() {
		if r := recover(); r != nil {
			d, err = nil, &apigw.Error{Kind: apigw.KindBadRequest, Message: MsgInvalidInput, Cause: fmt.Errorf("swagger conversion: %v", r)}
		}
	}()
	d = &Document{swagger: true, basePath: t2.BasePath, anyMethods: map[string]*openapi3.Operation{}}
	doc3, err := d.swaggerToV3(&t2)
	if err != nil {
		return nil, &apigw.Error{Kind: apigw.KindBadRequest, Message: MsgInvalidInput, Cause: err}
	}
	d.doc = doc3
	return d, nil
}

func (d *Document) swaggerToV3(t2 *openapi2.T) (*openapi3.T, error) {
	consumes := t2.Consumes
	if len(consumes) == 0 {
		consumes = []string{"application/json"}
	}
	comps := &openapi3.Components{
		Schemas:       map[string]*openapi3.SchemaRef{},
		Parameters:    map[string]*openapi3.ParameterRef{},
		RequestBodies: map[string]*openapi3.RequestBodyRef{},
		Responses:     openapi3.ResponseBodies{},
	}
	for _, k := range sortedKeys(t2.Parameters) {
		p, body, schemas, err := openapi2conv.ToV3Parameter(comps, t2.Parameters[k], consumes)
		switch {
		case err != nil:
			return nil, err
		case body != nil:
			comps.RequestBodies[k] = body
		case schemas != nil:
			for _, s := range schemas {
				comps.Schemas[k] = s
			}
		case p != nil:
			comps.Parameters[k] = p
		}
	}
	for _, k := range sortedKeys(t2.Responses) {
		r, err := openapi2conv.ToV3Response(t2.Responses[k], t2.Produces)
		if err != nil {
			return nil, err
		}
		comps.Responses[k] = r
	}
	for k, s := range openapi2conv.ToV3Schemas(t2.Definitions) {
		comps.Schemas[k] = s
	}
	if len(t2.SecurityDefinitions) > 0 {
		comps.SecuritySchemes = openapi3.SecuritySchemes{}
		for _, k := range sortedKeys(t2.SecurityDefinitions) {
			s, err := openapi2conv.ToV3SecurityScheme(t2.SecurityDefinitions[k])
			if err != nil || s == nil {
				d.parseWarnings = append(d.parseWarnings, fmt.Sprintf("Security definition '%s' is not supported and was ignored", k))
				continue
			}
			comps.SecuritySchemes[k] = s
		}
	}
	info := t2.Info
	doc3 := &openapi3.T{OpenAPI: "3.0.3", Info: &info, Components: comps, Extensions: t2.Extensions,
		Paths: openapi3.NewPaths()}
	for _, path := range sortedKeys(t2.Paths) {
		item := t2.Paths[path]
		if item == nil {
			continue
		}
		for _, op := range item.Operations() {
			if op != nil && len(op.Produces) == 0 {
				op.Produces = t2.Produces
			}
		}
		rawAny, hasAny := item.Extensions[extAnyMethod]
		item3, err := openapi2conv.ToV3PathItem(t2, comps, item, consumes)
		if err != nil {
			return nil, fmt.Errorf("path %s: %w", path, err)
		}
		doc3.Paths.Set(path, item3)
		if hasAny {
			op3, err := swaggerAnyMethod(comps, item, rawAny, consumes, t2.Produces)
			if err != nil {
				return nil, fmt.Errorf("path %s: %w", path, err)
			}
			d.anyMethods[path] = op3
		}
	}
	doc3.Security = openapi2conv.ToV3SecurityRequirements(t2.Security)
	return doc3, nil
}

func swaggerAnyMethod(comps *openapi3.Components, item *openapi2.PathItem, raw any, consumes, produces []string) (*openapi3.Operation, error) {
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	var op openapi2.Operation
	if err := json.Unmarshal(b, &op); err != nil {
		return nil, err
	}
	if len(op.Produces) == 0 {
		op.Produces = produces
	}
	return openapi2conv.ToV3Operation(comps, item, &op, consumes)
}

// oas3BasePath is the base path of an OpenAPI 3 document: servers[0].variables.basePath.default,
// else the path of servers[0].url with its {variables} replaced by their defaults (addendum §10).
func oas3BasePath(servers openapi3.Servers) string {
	if len(servers) == 0 || servers[0] == nil {
		return ""
	}
	s := servers[0]
	if v := s.Variables["basePath"]; v != nil {
		return v.Default
	}
	u := s.URL
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			return ""
		}
		u = rest[j:]
	} else if !strings.HasPrefix(u, "/") {
		return ""
	}
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	for name, v := range s.Variables {
		if v != nil {
			u = strings.ReplaceAll(u, "{"+name+"}", v.Default)
		}
	}
	return u
}

// impliedResources counts the resources the path keys create (each key's path and its
// ancestors, the root included), stopping once the count passes limit.
func impliedResources(paths map[string]any, limit int) int {
	c := resourceCounter{limit: limit}
	for key := range paths {
		if c.add(key) {
			break
		}
	}
	return c.count()
}

// resourceCounter counts the resources (root included) a set of document paths implies: each
// path and all its ancestors. It stops growing at limit+1.
type resourceCounter struct {
	limit int
	seen  map[string]bool
}

// add counts the resources of one path and reports whether the count is now over the limit.
func (c *resourceCounter) add(path string) bool {
	if c.seen == nil {
		c.seen = map[string]bool{"/": true}
	}
	segs := splitPath(path)
	for i := range segs {
		p := joinPath(segs[:i+1])
		if !c.seen[p] {
			c.seen[p] = true
			if len(c.seen) > c.limit {
				return true
			}
		}
	}
	return false
}

func (c *resourceCounter) count() int {
	if c.seen == nil {
		return 1
	}
	return len(c.seen)
}

// jsonOverResources reads the keys of a JSON document's top-level "paths" object token by
// token, skipping every value, and reports whether the resources they imply exceed limit. It
// builds nothing and stops at the first resource over the limit, so a document of 20,000 paths
// is refused having held at most limit+1 paths; the generic decode it saves took 40 MB for a
// 2 MB document. It answers false for what it cannot read: the full decode judges those.
func jsonOverResources(js []byte, limit int) bool {
	dec := json.NewDecoder(bytes.NewReader(js))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return false
		}
		if t != "paths" {
			if skipJSONValue(dec) != nil {
				return false
			}
			continue
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('{') {
			return false
		}
		c := resourceCounter{limit: limit}
		for dec.More() {
			t, err := dec.Token()
			key, ok := t.(string)
			if err != nil || !ok {
				return false
			}
			if c.add(key) {
				return true
			}
			if skipJSONValue(dec) != nil {
				return false
			}
		}
		return false
	}
	return false
}

// skipJSONValue reads past the next value, however deeply nested.
func skipJSONValue(dec *json.Decoder) error {
	depth := 0
	for {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}
