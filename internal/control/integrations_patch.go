package control

import (
	"slices"
	"strconv"
	"strings"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/apigw/patch"
)

// UpdateIntegration's and UpdateIntegrationResponse's path tables (addendum §5.9, §5.11). Texts
// marked [R] are Tollgate's: AWS's are not recorded.

// applyIntegrationOp applies one UpdateIntegration op to i.
func applyIntegrationOp(i *apigw.Integration, op patch.Op) error {
	switch {
	case strings.HasPrefix(op.Path, "/requestParameters/"):
		key := patch.Unescape(strings.TrimPrefix(op.Path, "/requestParameters/"))
		m, err := patchStringMap(i.RequestParameters, op, key, msgInvalidParameterName)
		if err != nil {
			return err
		}
		i.RequestParameters = m
	case strings.HasPrefix(op.Path, "/requestTemplates/"):
		rest := strings.TrimPrefix(op.Path, "/requestTemplates/")
		if strings.Contains(rest, "/") {
			return patch.BadPath(op.Path)
		}
		m, err := patchStringMap(i.RequestTemplates, op, patch.Unescape(rest), msgContentTypeNotFound)
		if err != nil {
			return err
		}
		i.RequestTemplates = m
	case strings.HasPrefix(op.Path, "/cacheKeyParameters/"):
		key := patch.Unescape(strings.TrimPrefix(op.Path, "/cacheKeyParameters/"))
		switch op.Op {
		case "add", "replace":
			if !slices.Contains(i.CacheKeyParameters, key) {
				i.CacheKeyParameters = append(i.CacheKeyParameters, key)
			}
		case "remove":
			i.CacheKeyParameters = slices.DeleteFunc(i.CacheKeyParameters, func(k string) bool { return k == key })
		default:
			return patch.OnlyOps("add", "remove", "replace")
		}
	default:
		if !slices.Contains(integrationScalarPaths, op.Path) {
			return patch.BadPath(op.Path)
		}
		if op.Op != "replace" {
			return patch.OnlyOps("replace")
		}
		return replaceIntegrationField(i, op.Path, op.V())
	}
	return nil
}

var integrationScalarPaths = []string{
	"/uri", "/httpMethod", "/type", "/passthroughBehavior", "/timeoutInMillis", "/contentHandling",
	"/credentials", "/cacheNamespace", "/connectionType", "/connectionId", "/tlsConfig/insecureSkipVerification",
}

// replaceIntegrationField applies a replace on one scalar path; "" clears optional strings.
// Cross-field rules (uri versus type …) are checked once all ops are applied.
func replaceIntegrationField(i *apigw.Integration, path, v string) error {
	switch path {
	case "/uri":
		i.URI = v
	case "/httpMethod":
		i.HTTPMethod = v
	case "/type":
		if !slices.Contains(integrationTypes, v) {
			return apigw.BadRequest("Invalid integration type specified. Valid options are %s", strings.Join(integrationTypes, ",")) // [R]
		}
		i.Type = v
	case "/passthroughBehavior":
		i.PassthroughBehavior = v
	case "/timeoutInMillis":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return errTimeout()
		}
		i.TimeoutInMillis = n
	case "/contentHandling":
		if v != "" && !slices.Contains(contentHandlings, v) {
			return apigw.BadRequest("Invalid content handling specified. Valid options are %s", strings.Join(contentHandlings, ",")) // [R]
		}
		i.ContentHandling = v
	case "/credentials":
		i.Credentials = v
	case "/cacheNamespace":
		i.CacheNamespace = v
	case "/connectionType":
		if v != "" && !slices.Contains(connectionTypes, v) {
			return apigw.BadRequest("Invalid connection type specified. Valid options are %s", strings.Join(connectionTypes, ",")) // [R]
		}
		i.ConnectionType = v
	case "/connectionId":
		i.ConnectionID = v
	case "/tlsConfig/insecureSkipVerification":
		i.TLSConfig = &apigw.TLSConfig{InsecureSkipVerification: patch.ParseBool(v)}
	}
	return nil
}

// patchStringMap applies add/replace/remove on a string map and returns the new map (nil once
// empty); removing a missing key is a 404 with the given text.
func patchStringMap(m map[string]string, op patch.Op, key, missing string) (map[string]string, error) {
	if key == "" {
		return nil, patch.BadPath(op.Path)
	}
	switch op.Op {
	case "add", "replace":
		if m == nil {
			m = map[string]string{}
		}
		m[key] = op.V()
	case "remove":
		var err error
		if m, err = removeEntry(m, key, &apigw.Error{Kind: apigw.KindNotFound, Message: missing}); err != nil {
			return nil, err
		}
	default:
		return nil, patch.OnlyOps("add", "remove", "replace")
	}
	return m, nil
}

// applyIntegrationResponseOp applies one UpdateIntegrationResponse op to r.
func applyIntegrationResponseOp(r *apigw.IntegrationResponse, op patch.Op) error {
	switch {
	case op.Path == "/selectionPattern":
		switch op.Op {
		case "add", "replace":
			v := op.V()
			r.SelectionPattern = &v
		case "remove":
			r.SelectionPattern = nil
		default:
			return patch.OnlyOps("replace")
		}
	case op.Path == "/contentHandling":
		if op.Op != "replace" {
			return patch.OnlyOps("replace")
		}
		if v := op.V(); v != "" && !slices.Contains(contentHandlings, v) {
			return apigw.BadRequest("Invalid content handling specified. Valid options are %s", strings.Join(contentHandlings, ",")) // [R]
		}
		r.ContentHandling = op.V()
	case strings.HasPrefix(op.Path, "/responseParameters/"):
		key := patch.Unescape(strings.TrimPrefix(op.Path, "/responseParameters/"))
		m, err := patchStringMap(r.ResponseParameters, op, key, msgInvalidParameterName)
		if err != nil {
			return err
		}
		if err := ValidateIntegrationResponseParameters(m); err != nil {
			return err
		}
		r.ResponseParameters = m
	case strings.HasPrefix(op.Path, "/responseTemplates/"):
		rest := strings.TrimPrefix(op.Path, "/responseTemplates/")
		if rest == "" || strings.Contains(rest, "/") {
			return patch.BadPath(op.Path)
		}
		return patchTemplates(r, op, patch.Unescape(rest))
	default:
		return patch.BadPath(op.Path)
	}
	return nil
}

// patchTemplates edits responseTemplates, whose values may be null ("" is stored as null).
func patchTemplates(r *apigw.IntegrationResponse, op patch.Op, contentType string) error {
	switch op.Op {
	case "add", "replace":
		if err := validateContentTypes([]string{contentType}); err != nil {
			return err
		}
		if r.ResponseTemplates == nil {
			r.ResponseTemplates = map[string]*string{}
		}
		r.ResponseTemplates[contentType] = templateValue(op.Value)
	case "remove":
		var err error
		if r.ResponseTemplates, err = removeEntry(r.ResponseTemplates, contentType, apigw.NotFound(msgContentTypeNotFound)); err != nil {
			return err
		}
	default:
		return patch.OnlyOps("add", "remove", "replace")
	}
	return nil
}

// templateValue stores "" and null templates as nil: AWS echoes both as JSON null (§2.6).
func templateValue(v *string) *string {
	if v == nil || *v == "" {
		return nil
	}
	s := *v
	return &s
}
