package snapshot

import (
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/authorizer"
)

// Authorizer is a deployed authorizer, compiled: what the data plane reads from a request
// (Sources), how it checks the token before invoking anything (Validation), and where its
// results are cached (Cache, bound across snapshots).
type Authorizer struct {
	ID   string
	Type string // apigw.AuthorizerToken, AuthorizerRequest or AuthorizerCognito
	// URI is the Lambda invocation URI (TOKEN and REQUEST).
	URI string
	// Sources are the identity sources in declared order.
	Sources []Source
	// Validation is the TOKEN/Cognito identityValidationExpression, matched against the whole
	// token (nil: none).
	Validation *regexp.Regexp
	// Pools are a Cognito authorizer's user pools.
	Pools []authorizer.Pool
	// Cache holds the authorizer's results for this stage (nil: nothing cached — TTL 0, or no
	// Binder.AuthorizerCache).
	Cache *authorizer.Scope
}

// Source kinds.
const (
	SourceHeader = iota + 1
	SourceQuery
	SourceStageVar
	SourceContext
)

// Source is one identity source: a request header (canonical name), a query parameter, a
// stage variable or a $context variable.
type Source struct {
	Kind int
	Name string
}

// compileAuthorizers compiles a deployment's authorizers for stage st and binds their caches.
func compileAuthorizers(st *Stage, d *apigw.Deployment, epoch int64, bind *Binder) map[string]*Authorizer {
	if len(d.Authorizers) == 0 {
		return nil
	}
	out := make(map[string]*Authorizer, len(d.Authorizers))
	for _, a := range d.Authorizers {
		ca := CompileAuthorizer(a)
		if ttl := a.EffectiveTTL(); ttl > 0 && bind.AuthorizerCache != nil {
			key := authorizer.ScopeKey{Region: st.API.Region.Name, API: st.API.ID, Stage: st.Name, Deployment: d.ID, Authorizer: a.ID, Epoch: epoch}
			ca.Cache = bind.AuthorizerCache.Scope(key, time.Duration(ttl)*time.Second)
		}
		out[a.ID] = ca
	}
	return out
}

// CompileAuthorizer compiles one authorizer, without a cache (TestInvokeAuthorizer runs the
// authorizer as written, outside any deployment).
func CompileAuthorizer(a *apigw.Authorizer) *Authorizer {
	ca := &Authorizer{ID: a.ID, Type: a.Type, URI: a.AuthorizerURI}
	for _, src := range strings.Split(a.IdentitySource, ",") {
		if s, ok := parseSource(strings.TrimSpace(src)); ok {
			ca.Sources = append(ca.Sources, s)
		}
	}
	if a.IdentityValidationExpression != "" && a.Type != apigw.AuthorizerRequest {
		// Validated when written; anchored, as API Gateway matches the whole token.
		ca.Validation, _ = regexp.Compile(`^(?:` + a.IdentityValidationExpression + `)$`)
	}
	for _, arn := range a.ProviderARNs {
		if region, pool, ok := userPool(arn); ok {
			ca.Pools = append(ca.Pools, authorizer.Pool{Region: region, ID: pool})
		}
	}
	return ca
}

// parseSource reads an identity source expression.
func parseSource(s string) (Source, bool) {
	switch {
	case strings.HasPrefix(s, "method.request.header."):
		return Source{SourceHeader, http.CanonicalHeaderKey(s[len("method.request.header."):])}, true
	case strings.HasPrefix(s, "method.request.querystring."):
		return Source{SourceQuery, s[len("method.request.querystring."):]}, true
	case strings.HasPrefix(s, "stageVariables."):
		return Source{SourceStageVar, s[len("stageVariables."):]}, true
	case strings.HasPrefix(s, "context."):
		return Source{SourceContext, s[len("context."):]}, true
	}
	return Source{}, false
}

// userPool reads arn:aws:cognito-idp:{region}:{account}:userpool/{id}.
func userPool(arn string) (region, pool string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[2] != "cognito-idp" {
		return "", "", false
	}
	pool, ok = strings.CutPrefix(parts[5], "userpool/")
	return parts[3], pool, ok && pool != ""
}
