package control

import (
	"slices"
	"strings"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/apigw/patch"
)

// UpdateMethod's and UpdateMethodResponse's path tables (addendum §5.3, §5.5).

const (
	msgInvalidParameterName = "Invalid parameter name specified"
	msgContentTypeNotFound  = "Content-Type specified was not found"
)

// applyMethodOp applies one UpdateMethod op to m, a method of a.
func applyMethodOp(a *apigw.RestApi, m *apigw.Method, op patch.Op) error {
	switch {
	case op.Path == "/authorizationType", op.Path == "/authorizerId", op.Path == "/apiKeyRequired",
		op.Path == "/operationName", op.Path == "/requestValidatorId":
		if op.Op != "replace" {
			return patch.OnlyOps("replace")
		}
		return replaceMethodField(a, m, op.Path, op.V())
	case strings.HasPrefix(op.Path, "/requestParameters/"):
		return patchMethodRequestParameter(m, op, patch.Unescape(strings.TrimPrefix(op.Path, "/requestParameters/")))
	case strings.HasPrefix(op.Path, "/requestModels/"):
		rest := strings.TrimPrefix(op.Path, "/requestModels/")
		if rest == "" || strings.Contains(rest, "/") {
			return patch.BadPath(op.Path)
		}
		models, err := patchModelMap(a, m.RequestModels, op, patch.Unescape(rest))
		if err != nil {
			return err
		}
		m.RequestModels = models
	case op.Path == "/authorizationScopes":
		switch op.Op {
		case "add":
			if !slices.Contains(m.AuthorizationScopes, op.V()) {
				m.AuthorizationScopes = append(m.AuthorizationScopes, op.V())
			}
		case "remove":
			m.AuthorizationScopes = slices.DeleteFunc(m.AuthorizationScopes, func(s string) bool { return s == op.V() })
			if len(m.AuthorizationScopes) == 0 {
				m.AuthorizationScopes = nil
			}
		default:
			return patch.OnlyOps("add", "remove")
		}
	default:
		return patch.BadPath(op.Path)
	}
	return nil
}

// replaceMethodField applies the replace-only scalar paths of a method.
func replaceMethodField(a *apigw.RestApi, m *apigw.Method, path, v string) error {
	switch path {
	case "/authorizationType":
		auth, err := normalizeAuthorizationType(v)
		if err != nil {
			return err
		}
		m.AuthorizationType = auth
		if auth != AuthCustom && auth != AuthCognito {
			m.AuthorizerID = ""
		}
	case "/authorizerId":
		// AWS silently ignores an authorizer on a method that does not use one.
		if m.AuthorizationType == AuthCustom || m.AuthorizationType == AuthCognito {
			m.AuthorizerID = v
		}
	case "/apiKeyRequired":
		m.ApiKeyRequired = patch.ParseBool(v)
	case "/operationName":
		m.OperationName = v
	case "/requestValidatorId":
		if v != "" && !hasRequestValidator(a, v) {
			return apigw.BadRequest(msgInvalidValidator)
		}
		m.RequestValidatorID = v
	}
	return nil
}

// patchMethodRequestParameter adds, replaces or removes one request parameter; removing the last
// one drops the map from the output.
func patchMethodRequestParameter(m *apigw.Method, op patch.Op, key string) error {
	if key == "" {
		return patch.BadPath(op.Path)
	}
	switch op.Op {
	case "add", "replace":
		next := make(map[string]bool, len(m.RequestParameters)+1)
		for k, v := range m.RequestParameters {
			next[k] = v
		}
		next[key] = patch.ParseBool(op.V())
		if err := ValidateMethodRequestParameters(next); err != nil {
			return err
		}
		m.RequestParameters = next
	case "remove":
		var err error
		if m.RequestParameters, err = removeEntry(m.RequestParameters, key, apigw.NotFound(msgInvalidParameterName)); err != nil {
			return err
		}
	default:
		return patch.OnlyOps("add", "remove", "replace")
	}
	return nil
}

// patchModelMap applies an add/replace/remove on a content type → model map and returns the new
// map (nil once empty).
func patchModelMap(a *apigw.RestApi, models map[string]string, op patch.Op, contentType string) (map[string]string, error) {
	switch op.Op {
	case "add", "replace":
		if !HasModel(a, op.V()) {
			return nil, apigw.BadRequest("Invalid model identifier specified: %s", op.V())
		}
		if models == nil {
			models = map[string]string{}
		}
		models[contentType] = op.V()
	case "remove":
		var err error
		if models, err = removeEntry(models, contentType, apigw.NotFound(msgContentTypeNotFound)); err != nil {
			return nil, err
		}
	default:
		return nil, patch.OnlyOps("add", "remove", "replace")
	}
	return models, nil
}

// applyMethodResponseOp applies one UpdateMethodResponse op to mr.
func applyMethodResponseOp(a *apigw.RestApi, mr *apigw.MethodResponse, op patch.Op) error {
	switch {
	case strings.HasPrefix(op.Path, "/responseParameters/"):
		key := patch.Unescape(strings.TrimPrefix(op.Path, "/responseParameters/"))
		switch op.Op {
		case "add", "replace":
			if err := ValidateMethodResponseParameters(map[string]bool{key: true}); err != nil {
				return err
			}
			if mr.ResponseParameters == nil {
				mr.ResponseParameters = map[string]bool{}
			}
			mr.ResponseParameters[key] = patch.ParseBool(op.V())
		case "remove":
			var err error
			if mr.ResponseParameters, err = removeEntry(mr.ResponseParameters, key, apigw.NotFound(msgInvalidParameterName)); err != nil {
				return err
			}
		default:
			return patch.OnlyOps("add", "remove", "replace")
		}
	case strings.HasPrefix(op.Path, "/responseModels/"):
		rest := strings.TrimPrefix(op.Path, "/responseModels/")
		if rest == "" || strings.Contains(rest, "/") {
			return patch.BadPath(op.Path)
		}
		models, err := patchModelMap(a, mr.ResponseModels, op, patch.Unescape(rest))
		if err != nil {
			return err
		}
		mr.ResponseModels = models
	default:
		return patch.BadPath(op.Path)
	}
	return nil
}

// removeEntry deletes key from m, or returns notFound when it is absent. A map emptied this way
// becomes nil: AWS drops the member once its last entry is removed (addendum §5.3).
func removeEntry[V any](m map[string]V, key string, notFound error) (map[string]V, error) {
	if _, ok := m[key]; !ok {
		return m, notFound
	}
	delete(m, key)
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}
