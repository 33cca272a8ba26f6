package control

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/store"
)

// AuthorizerInput is the CreateAuthorizer body.
type AuthorizerInput struct {
	Name                         *string  `json:"name"`
	Type                         *string  `json:"type"`
	ProviderARNs                 []string `json:"providerARNs"`
	AuthType                     string   `json:"authType"`
	AuthorizerURI                string   `json:"authorizerUri"`
	AuthorizerCredentials        string   `json:"authorizerCredentials"`
	IdentitySource               string   `json:"identitySource"`
	IdentityValidationExpression string   `json:"identityValidationExpression"`
	TTL                          *int64   `json:"authorizerResultTtlInSeconds"`
}

// Authorizer texts. AWS's are recorded where a source quotes them (the URI and token-source
// texts, from API Gateway's answers to Terraform and the Serverless Framework); the others are
// Tollgate's, in AWS's style, and listed in the README.
const (
	msgAuthorizerURI       = "Invalid Authorizer URI: %s. Authorizer URI should be a valid API Gateway ARN that represents a Lambda function invocation."
	msgTokenSource         = "Invalid token source expression: %s. The source must be a method request header, matching 'method.request.header.[a-zA-Z0-9._-]+'."
	msgIdentitySource      = "Invalid identity source expression: %s. A source must be method.request.header.{name}, method.request.querystring.{name}, stageVariables.{name} or context.{name}."
	msgIdentityRequired    = "Identity source is required for a REQUEST authorizer with caching enabled (authorizerResultTtlInSeconds greater than 0)."
	msgAuthorizerTTL       = "Invalid authorizer result TTL: %d. It must be between 0 and 3600 seconds."
	msgProviderARNs        = "Invalid Cognito user pool ARN: %s. A provider ARN must be arn:aws:cognito-idp:{region}:{account_id}:userpool/{user_pool_id}."
	msgProvidersRequired   = "At least one provider ARN is required for a COGNITO_USER_POOLS authorizer."
	msgValidationExpr      = "Invalid identity validation expression specified: %s"
	msgNoValidationExpr    = "An identity validation expression applies to TOKEN and COGNITO_USER_POOLS authorizers only."
	msgAuthorizerInUse     = "Cannot delete authorizer '%s', is referenced in method: %s"
	msgInvalidAuthorizerID = "Invalid Authorizer identifier specified"
)

var (
	// tokenSource is the one header a TOKEN or Cognito authorizer reads.
	tokenSource = regexp.MustCompile(`^method\.request\.header\.[a-zA-Z0-9._-]+$`)
	// requestSource is one identity source of a REQUEST authorizer.
	requestSource = regexp.MustCompile(`^(method\.request\.(header|querystring)\.[^\s,]+|stageVariables\.[a-zA-Z0-9_]+|context\.[a-zA-Z0-9_.]+)$`)
	// userPoolARN is a Cognito user pool: arn:aws:cognito-idp:{region}:{account}:userpool/{region}_{id}.
	userPoolARN = regexp.MustCompile(`^arn:aws[a-z-]*:cognito-idp:([a-z0-9-]+):[0-9]{12}:userpool/([a-z0-9-]+_[A-Za-z0-9]+)$`)
	// lambdaURI is a Lambda invocation URI of API Gateway.
	lambdaURI = regexp.MustCompile(`^arn:aws[a-z-]*:apigateway:[a-z]{2}(-[a-z]+)+-[0-9]+:lambda:path/2015-03-31/functions/arn:aws[a-z-]*:lambda:[a-z]{2}(-[a-z]+)+-[0-9]+:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?/invocations$`)
)

// UserPoolOfARN returns the region and pool id of a user pool ARN.
func UserPoolOfARN(arn string) (region, pool string, ok bool) {
	m := userPoolARN.FindStringSubmatch(arn)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// IdentitySources splits a comma-separated identitySource into its expressions.
func IdentitySources(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ValidateAuthorizer checks an authorizer as CreateAuthorizer and UpdateAuthorizer leave it
// (first problem only, in member order), and fills authType's default.
func (s *Service) ValidateAuthorizer(a *apigw.Authorizer) error {
	if !slices.Contains(apigw.AuthorizerTypes, a.Type) {
		return patch.ValidationErrors([]string{enumError(a.Type, "createAuthorizerInput.type", apigw.AuthorizerTypes)})
	}
	if a.Name == "" {
		return apigw.BadRequest("Authorizer name must be non-empty")
	}
	if a.TTL != nil && (*a.TTL < 0 || *a.TTL > 3600) {
		return apigw.BadRequest(msgAuthorizerTTL, *a.TTL)
	}
	switch a.Type {
	case apigw.AuthorizerToken, apigw.AuthorizerRequest:
		if !lambdaURI.MatchString(a.AuthorizerURI) {
			uri := a.AuthorizerURI
			if uri == "" {
				uri = "null"
			}
			return apigw.BadRequest(msgAuthorizerURI, uri)
		}
		if len(a.ProviderARNs) > 0 {
			return apigw.BadRequest("Provider ARNs apply to COGNITO_USER_POOLS authorizers only.")
		}
	case apigw.AuthorizerCognito:
		if len(a.ProviderARNs) == 0 {
			return apigw.BadRequest(msgProvidersRequired)
		}
		for _, arn := range a.ProviderARNs {
			if _, _, ok := UserPoolOfARN(arn); !ok {
				return apigw.BadRequest(msgProviderARNs, arn)
			}
		}
		if a.AuthorizerURI != "" {
			return apigw.BadRequest("An authorizer URI applies to TOKEN and REQUEST authorizers only.")
		}
	}
	switch a.Type {
	case apigw.AuthorizerToken, apigw.AuthorizerCognito:
		src := a.IdentitySource
		if !tokenSource.MatchString(src) {
			if src == "" {
				src = "null"
			}
			return apigw.BadRequest(msgTokenSource, src)
		}
		if a.IdentityValidationExpression != "" {
			if _, err := regexp.Compile(a.IdentityValidationExpression); err != nil {
				return apigw.BadRequest(msgValidationExpr, a.IdentityValidationExpression)
			}
		}
	case apigw.AuthorizerRequest:
		srcs := IdentitySources(a.IdentitySource)
		for _, src := range srcs {
			if !requestSource.MatchString(src) {
				return apigw.BadRequest(msgIdentitySource, src)
			}
		}
		if len(srcs) == 0 && a.EffectiveTTL() > 0 {
			return apigw.BadRequest(msgIdentityRequired)
		}
		if a.IdentityValidationExpression != "" {
			return apigw.BadRequest(msgNoValidationExpr)
		}
	}
	if err := s.checkPassRole(a.AuthorizerCredentials); err != nil {
		return err
	}
	if a.AuthType == "" {
		a.AuthType = "custom"
		if a.Type == apigw.AuthorizerCognito {
			a.AuthType = "cognito_user_pools"
		}
	}
	return nil
}

// CreateAuthorizer adds an authorizer to an API (201). An unknown API answers 409 with AWS's
// concurrent-modification text, as AWS does (LocalStack's AWS-validated recording).
func (s *Service) CreateAuthorizer(ctx context.Context, region, apiID string, in AuthorizerInput) (*apigw.Authorizer, error) {
	var bad []string
	if in.Name == nil {
		bad = append(bad, "Value null at 'createAuthorizerInput.name' failed to satisfy constraint: Member must not be null")
	}
	if in.Type == nil {
		bad = append(bad, "Value null at 'createAuthorizerInput.type' failed to satisfy constraint: Member must not be null")
	}
	if len(bad) > 0 {
		return nil, patch.ValidationErrors(bad)
	}
	au := &apigw.Authorizer{
		ID: apigw.NewID(6), Name: *in.Name, Type: *in.Type, ProviderARNs: in.ProviderARNs, AuthType: in.AuthType,
		AuthorizerURI: in.AuthorizerURI, AuthorizerCredentials: in.AuthorizerCredentials, IdentitySource: in.IdentitySource,
		IdentityValidationExpression: in.IdentityValidationExpression, TTL: in.TTL,
	}
	if err := s.ValidateAuthorizer(au); err != nil {
		return nil, err
	}
	err := s.update(ctx, region, func(tx store.Tx) error {
		a, err := tx.GetRestApi(apiID)
		if err != nil {
			return notFound(err, apigw.Conflict("Unable to complete operation due to concurrent modification. Please try again later."))
		}
		next := copyRestApiSettings(a)
		next.Authorizers = append(apigw.CloneAuthorizers(a.Authorizers), au)
		return tx.PutRestApi(next)
	})
	if err != nil {
		return nil, err
	}
	return au.Clone(), nil
}

// GetAuthorizer returns one authorizer.
func (s *Service) GetAuthorizer(ctx context.Context, region, apiID, id string) (*apigw.Authorizer, error) {
	var out *apigw.Authorizer
	err := s.view(ctx, region, func(tx store.Tx) error {
		a, err := s.getAPI(tx, apiID)
		if err != nil {
			return err
		}
		au := apigw.FindAuthorizer(a.Authorizers, id)
		if au == nil {
			return apigw.NotFound(msgInvalidAuthorizerID)
		}
		out = au.Clone()
		return nil
	})
	return out, err
}

// GetAuthorizers lists one page of an API's authorizers, in creation order.
func (s *Service) GetAuthorizers(ctx context.Context, region, apiID, cursor string, limit int) (Page[*apigw.Authorizer], error) {
	var out Page[*apigw.Authorizer]
	err := s.view(ctx, region, func(tx store.Tx) error {
		a, err := s.getAPI(tx, apiID)
		if err != nil {
			return err
		}
		items, next, err := idPage(a.Authorizers, func(x *apigw.Authorizer) string { return x.ID }, cursor, limit)
		out = Page[*apigw.Authorizer]{Items: apigw.CloneAuthorizers(items), Next: next}
		return err
	})
	return out, err
}

// UpdateAuthorizer patches an authorizer (replace of every scalar member; add and remove of
// /providerARNs/{arn}), all or nothing, and checks the result as CreateAuthorizer does.
func (s *Service) UpdateAuthorizer(ctx context.Context, region, apiID, id string, ops []patch.Op) (*apigw.Authorizer, error) {
	if err := patch.Validate(ops, "updateAuthorizerInput"); err != nil {
		return nil, err
	}
	var out *apigw.Authorizer
	err := s.update(ctx, region, func(tx store.Tx) error {
		a, err := s.getAPI(tx, apiID)
		if err != nil {
			return err
		}
		next := copyRestApiSettings(a)
		next.Authorizers = apigw.CloneAuthorizers(a.Authorizers)
		au := apigw.FindAuthorizer(next.Authorizers, id)
		if au == nil {
			return apigw.NotFound(msgInvalidAuthorizerID)
		}
		for _, op := range ops {
			if err := applyAuthorizerOp(au, op); err != nil {
				return err
			}
		}
		if err := checkAuthorizerUsers(next, au); err != nil {
			return err
		}
		if err := s.ValidateAuthorizer(au); err != nil {
			return err
		}
		out = au.Clone()
		return tx.PutRestApi(next)
	})
	return out, err
}

// authorizerReplacePaths are the members UpdateAuthorizer replaces.
var authorizerReplacePaths = []string{"/name", "/type", "/authType", "/authorizerUri", "/authorizerCredentials",
	"/identitySource", "/identityValidationExpression", "/authorizerResultTtlInSeconds"}

func applyAuthorizerOp(au *apigw.Authorizer, op patch.Op) error {
	if arn, ok := strings.CutPrefix(op.Path, "/providerARNs/"); ok {
		arn = patch.Unescape(arn)
		if arn == "" {
			return patch.BadPath(op.Path)
		}
		switch op.Op {
		case "add":
			if !slices.Contains(au.ProviderARNs, arn) {
				au.ProviderARNs = append(au.ProviderARNs, arn)
			}
		case "remove":
			if !slices.Contains(au.ProviderARNs, arn) {
				return apigw.NotFound("Invalid provider ARN specified: %s", arn)
			}
			au.ProviderARNs = slices.DeleteFunc(au.ProviderARNs, func(s string) bool { return s == arn })
		default:
			return patch.UnsupportedOp(op.Path, op.Op)
		}
		return nil
	}
	if !slices.Contains(authorizerReplacePaths, op.Path) {
		if op.Path == "" {
			return patch.BadPath("null")
		}
		return patch.InvalidPath(op.Path, op.Op, authorizerReplacePaths)
	}
	if op.Op != "replace" {
		return patch.UnsupportedOp(op.Path, op.Op)
	}
	v := op.V()
	switch op.Path {
	case "/name":
		au.Name = v
	case "/type":
		au.Type = v
	case "/authType":
		au.AuthType = v
	case "/authorizerUri":
		au.AuthorizerURI = v
	case "/authorizerCredentials":
		au.AuthorizerCredentials = v
	case "/identitySource":
		au.IdentitySource = v
	case "/identityValidationExpression":
		au.IdentityValidationExpression = v
	case "/authorizerResultTtlInSeconds":
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return apigw.BadRequest("Invalid authorizer result TTL: %s. It must be between 0 and 3600 seconds.", v)
		}
		au.TTL = &n
	}
	return nil
}

// methodsUsing lists "{httpMethod} {path}" of the methods of API a that use authorizer id.
func methodsUsing(a *apigw.RestApi, id string) []string {
	var out []string
	for _, r := range a.Resources {
		for _, verb := range sortedKeys(r.Methods) {
			m := r.Methods[verb]
			if m.AuthorizerID == id && (m.AuthorizationType == AuthCustom || m.AuthorizationType == AuthCognito) {
				out = append(out, verb+" "+a.Path(r.ID))
			}
		}
	}
	return out
}

// checkAuthorizerUsers refuses an update that would leave a method on an authorizer of the
// wrong kind (a CUSTOM method on a Cognito authorizer, or the reverse).
func checkAuthorizerUsers(a *apigw.RestApi, au *apigw.Authorizer) error {
	for _, r := range a.Resources {
		for _, m := range r.Methods {
			if m.AuthorizerID == au.ID && !authorizerFits(m.AuthorizationType, au) {
				return apigw.BadRequest("Authorizer type %s does not match the authorization type %s of the methods that use it.", au.Type, m.AuthorizationType)
			}
		}
	}
	return nil
}

// authorizerFits reports whether a method of authorization type auth may use au: CUSTOM takes
// TOKEN and REQUEST authorizers, COGNITO_USER_POOLS a Cognito one.
func authorizerFits(auth string, au *apigw.Authorizer) bool {
	if au.Type == apigw.AuthorizerCognito {
		return auth == AuthCognito
	}
	return auth == AuthCustom
}

// DeleteAuthorizer removes an authorizer (202); one a method still uses is refused (409).
func (s *Service) DeleteAuthorizer(ctx context.Context, region, apiID, id string) error {
	return s.update(ctx, region, func(tx store.Tx) error {
		a, err := s.getAPI(tx, apiID)
		if err != nil {
			return err
		}
		if apigw.FindAuthorizer(a.Authorizers, id) == nil {
			return apigw.NotFound(msgInvalidAuthorizerID)
		}
		if users := methodsUsing(a, id); len(users) > 0 {
			return apigw.Conflict(msgAuthorizerInUse, id, users[0])
		}
		next := copyRestApiSettings(a)
		next.Authorizers = slices.DeleteFunc(apigw.CloneAuthorizers(a.Authorizers), func(x *apigw.Authorizer) bool { return x.ID == id })
		if len(next.Authorizers) == 0 {
			next.Authorizers = nil
		}
		return tx.PutRestApi(next)
	})
}

// FlushStageAuthorizersCache empties the authorizer cache of a stage (202). The flush is a
// count kept with the stage: every node's data plane keys its cache with it, so the flush
// reaches all of them through the store, like any other change.
func (s *Service) FlushStageAuthorizersCache(ctx context.Context, region, apiID, stage string) error {
	return s.update(ctx, region, func(tx store.Tx) error {
		st, err := loadStage(tx, apiID, stage)
		if err != nil {
			return err
		}
		st.AuthorizerCacheEpoch++
		return tx.PutStage(st)
	})
}
