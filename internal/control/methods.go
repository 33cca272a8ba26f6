package control

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/store"
)

// Authorization types of a method.
const (
	AuthNone    = "NONE"
	AuthIAM     = "AWS_IAM"
	AuthCustom  = "CUSTOM"
	AuthCognito = "COGNITO_USER_POOLS"
)

var authorizationTypes = []string{AuthNone, AuthIAM, AuthCustom, AuthCognito}

// Texts shared by PutMethod and UpdateMethod (addendum §5.1, §5.3).
const (
	msgInvalidAuthorizer = "Invalid authorizer ID specified. Setting the authorization type to CUSTOM or COGNITO_USER_POOLS requires a valid authorizer."
	msgInvalidValidator  = "Invalid Request Validator identifier specified"
)

// findMethod reads the API, resource and method a method-level call addresses; verb matches
// case-insensitively (§12 A8). Missing API or resource → Resource 404, missing method → Method 404.
func findMethod(tx store.Tx, apiID, resourceID, verb string) (*apigw.RestApi, *apigw.Resource, *apigw.Method, error) {
	a, r, err := findResource(tx, apiID, resourceID)
	if err != nil {
		return nil, nil, nil, err
	}
	m := r.Methods[strings.ToUpper(verb)]
	if m == nil {
		return nil, nil, nil, apigw.NotFound(apigw.MsgInvalidMethodID)
	}
	return a, r, m, nil
}

// PutMethodInput is the PutMethod body (addendum §5.1).
type PutMethodInput struct {
	AuthorizationType   *string           `json:"authorizationType"`
	AuthorizerID        string            `json:"authorizerId"`
	ApiKeyRequired      bool              `json:"apiKeyRequired"`
	OperationName       string            `json:"operationName"`
	RequestParameters   map[string]bool   `json:"requestParameters"`
	RequestModels       map[string]string `json:"requestModels"`
	RequestValidatorID  string            `json:"requestValidatorId"`
	AuthorizationScopes []string          `json:"authorizationScopes"`
}

// PutMethod creates a method; an existing one is a 409 (AWS, unlike the emulators, does not
// overwrite).
func (s *Service) PutMethod(ctx context.Context, region, apiID, resourceID, verb string, in PutMethodInput) (*apigw.Method, error) {
	var m *apigw.Method
	err := s.update(ctx, region, func(tx store.Tx) error {
		a, r, err := findResource(tx, apiID, resourceID)
		if err != nil {
			return err
		}
		v, err := NormalizeHTTPMethod(verb)
		if err != nil {
			return err
		}
		if r.Methods[v] != nil {
			return apigw.Conflict("Method already exists for this resource")
		}
		m, err = NewMethod(a, v, in)
		if err != nil {
			return err
		}
		if r.Methods == nil {
			r.Methods = map[string]*apigw.Method{}
		}
		r.Methods[v] = m
		return tx.PutRestApi(a)
	})
	return m, err
}

// NewMethod validates a PutMethod body against the API and builds the method (verb already
// normalised). The importer uses it for each operation of a document.
func NewMethod(a *apigw.RestApi, verb string, in PutMethodInput) (*apigw.Method, error) {
	if in.AuthorizationType == nil {
		return nil, patch.ValidationErrors([]string{"Value null at 'putMethodInput.authorizationType' failed to satisfy constraint: Member must not be null"})
	}
	auth, err := normalizeAuthorizationType(*in.AuthorizationType)
	if err != nil {
		return nil, err
	}
	if err := ValidateMethodRequestParameters(in.RequestParameters); err != nil {
		return nil, err
	}
	if err := checkAuthorizer(a, auth, in.AuthorizerID); err != nil {
		return nil, err
	}
	if in.RequestValidatorID != "" && !hasRequestValidator(a, in.RequestValidatorID) {
		return nil, apigw.BadRequest(msgInvalidValidator)
	}
	if err := checkModels(a, in.RequestModels); err != nil {
		return nil, err
	}
	m := &apigw.Method{
		HTTPMethod:          verb,
		AuthorizationType:   auth,
		ApiKeyRequired:      in.ApiKeyRequired,
		OperationName:       in.OperationName,
		RequestValidatorID:  in.RequestValidatorID,
		RequestParameters:   in.RequestParameters,
		RequestModels:       in.RequestModels,
		AuthorizationScopes: in.AuthorizationScopes,
	}
	if auth == AuthCustom || auth == AuthCognito {
		m.AuthorizerID = in.AuthorizerID
	}
	return m, nil
}

func normalizeAuthorizationType(t string) (string, error) {
	u := strings.ToUpper(t)
	if slices.Contains(authorizationTypes, u) {
		return u, nil
	}
	return "", apigw.BadRequest("Invalid authorization type specified. Valid options are %s", strings.Join(authorizationTypes, ","))
}

// checkAuthorizer enforces that CUSTOM and COGNITO_USER_POOLS methods name a valid authorizer.
func checkAuthorizer(a *apigw.RestApi, auth, authorizerID string) error {
	if (auth == AuthCustom || auth == AuthCognito) && !hasAuthorizer(a, auth, authorizerID) {
		return apigw.BadRequest(msgInvalidAuthorizer)
	}
	return nil
}

// hasAuthorizer reports whether the API has the authorizer and it fits the authorization type:
// a CUSTOM method needs a TOKEN or REQUEST authorizer, a COGNITO_USER_POOLS one a Cognito
// authorizer (a mismatch could not run, so it is refused when written).
func hasAuthorizer(a *apigw.RestApi, auth, id string) bool {
	au := apigw.FindAuthorizer(a.Authorizers, id)
	return au != nil && authorizerFits(auth, au)
}

// hasRequestValidator: as for authorizers, Tollgate manages no request validators.
func hasRequestValidator(_ *apigw.RestApi, _ string) bool { return false }

// HasModel reports whether the API defines the model; the default models always exist.
func HasModel(a *apigw.RestApi, name string) bool {
	return slices.Contains(DefaultModels, name) || slices.Contains(a.Models, name)
}

// checkModels verifies every model a requestModels/responseModels map names, in key order so
// the reported name is deterministic.
func checkModels(a *apigw.RestApi, models map[string]string) error {
	for _, k := range sortedKeys(models) {
		if !HasModel(a, models[k]) {
			return apigw.BadRequest("Invalid model identifier specified: %s", models[k])
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var methodRequestParam = regexp.MustCompile(`^method\.request\.(querystring|header|path|multivaluequerystring|multivalueheader)\.([^.].*)$`)

// invalidMapping is AWS's text for a mapping key of the wrong form.
func invalidMapping(keys []string) error {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = "Invalid mapping expression specified: " + k
	}
	return apigw.BadRequest("Invalid mapping expression specified: Validation Result: warnings : [], errors : [%s]", strings.Join(parts, ", "))
}

// ValidateMethodRequestParameters checks requestParameters keys: names unique across
// querystring, header and path, and every key of the form method.request.<location>.<name>.
func ValidateMethodRequestParameters(params map[string]bool) error {
	var bad []string
	where := map[string]string{}
	dup := false
	for _, k := range sortedKeys(params) {
		sm := methodRequestParam.FindStringSubmatch(k)
		if sm == nil {
			bad = append(bad, k)
			continue
		}
		loc := strings.TrimPrefix(sm[1], "multivalue")
		if prev, ok := where[sm[2]]; ok && prev != loc {
			dup = true
		}
		where[sm[2]] = loc
	}
	if dup {
		return apigw.BadRequest("Parameter names must be unique across querystring, header and path")
	}
	if len(bad) > 0 {
		return invalidMapping(bad)
	}
	return nil
}

// GetMethod returns a method with its responses and integration.
func (s *Service) GetMethod(ctx context.Context, region, apiID, resourceID, verb string) (*apigw.Method, error) {
	var m *apigw.Method
	err := s.view(ctx, region, func(tx store.Tx) (err error) {
		_, _, m, err = findMethod(tx, apiID, resourceID, verb)
		return err
	})
	return m, err
}

// UpdateMethod applies patch operations to a method (addendum §5.3), all or nothing.
func (s *Service) UpdateMethod(ctx context.Context, region, apiID, resourceID, verb string, ops []patch.Op) (*apigw.Method, error) {
	if err := patch.Validate(ops, "updateMethodInput"); err != nil {
		return nil, err
	}
	var m *apigw.Method
	err := s.update(ctx, region, func(tx store.Tx) error {
		a, _, cur, err := findMethod(tx, apiID, resourceID, verb)
		if err != nil {
			return err
		}
		for _, op := range ops {
			if err := applyMethodOp(a, cur, op); err != nil {
				return err
			}
		}
		if err := checkAuthorizer(a, cur.AuthorizationType, cur.AuthorizerID); err != nil {
			return err
		}
		m = cur
		return tx.PutRestApi(a)
	})
	return m, err
}

// DeleteMethod deletes a method with its responses and integration.
func (s *Service) DeleteMethod(ctx context.Context, region, apiID, resourceID, verb string) error {
	return s.update(ctx, region, func(tx store.Tx) error {
		a, r, m, err := findMethod(tx, apiID, resourceID, verb)
		if err != nil {
			return err
		}
		delete(r.Methods, m.HTTPMethod)
		if len(r.Methods) == 0 {
			r.Methods = nil
		}
		return tx.PutRestApi(a)
	})
}

var statusCodePattern = regexp.MustCompile(`^[1-5]\d\d$`)

// statusCodeError is the model's constraint violation for a status code path label, or "".
func statusCodeError(code string) string {
	if statusCodePattern.MatchString(code) {
		return ""
	}
	return fmt.Sprintf(`Value '%s' at 'statusCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [1-5]\d\d`, code)
}

// validateStatusCode is the ValidationException for a bad status code label.
func validateStatusCode(code string) error {
	if e := statusCodeError(code); e != "" {
		return patch.ValidationErrors([]string{e})
	}
	return nil
}

// validateOpsAndStatus checks patch ops and the status code label together: AWS reports both in
// one ValidationException, op errors first (addendum §1.3).
func validateOpsAndStatus(ops []patch.Op, input, code string) error {
	var bad []string
	for i := range ops {
		ops[i].HasValue = ops[i].Value != nil
		if !slices.Contains(patchOps, ops[i].Op) {
			bad = append(bad, fmt.Sprintf("Value '%s' at '%s.patchOperations.%d.member.op' failed to satisfy constraint: Member must satisfy enum value set: [%s]",
				ops[i].Op, input, i+1, strings.Join(patchOps, ", ")))
		}
	}
	if e := statusCodeError(code); e != "" {
		bad = append(bad, e)
	}
	return patch.ValidationErrors(bad)
}

// patchOps is the model's Op enum in AWS's order (as in package patch, which keeps it private).
var patchOps = []string{"add", "remove", "move", "test", "replace", "copy"}
