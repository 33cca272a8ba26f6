package authorizer

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// Result is what an authorizer established about a caller: a Lambda authorizer's answer, or
// a Cognito token's claims. It is immutable once built, so cached results are shared by
// concurrent requests.
type Result struct {
	PrincipalID string
	// Context is the answer's context map, values rendered as strings as API Gateway passes
	// them to integrations; for Cognito, the token's claims under "claims.<name>".
	Context []KV
	// UsageIdentifierKey is the API key value that meters the caller when the API's key
	// source is AUTHORIZER ("" when the function returned none); KeyHash is its SHA-256, the
	// data plane's key index, computed once so that a cached answer does not hash per request.
	UsageIdentifierKey string
	KeyHash            [sha256.Size]byte
	// Policy is the answer's policy document (nil for Cognito, which allows every method).
	Policy *Policy
	// Claims is a Cognito token's claims, for requestContext.authorizer.claims.
	Claims map[string]string
	// PolicyJSON is the policy document as the function sent it, for TestInvokeAuthorizer.
	PolicyJSON string
	// Expires is a Cognito token's exp: a cached result stops admitting then.
	Expires time.Time
	// Access: a Cognito access token (not an ID token), with its scope claim's Scopes.
	Access bool
	Scopes []string
}

// KV is one context entry.
type KV struct{ Key, Value string }

// Lookup returns a context value ("" and false when absent).
func (r *Result) Lookup(key string) (string, bool) {
	if key == "principalId" {
		return r.PrincipalID, true
	}
	for _, kv := range r.Context {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return "", false
}

// Policy is an IAM policy document as an authorizer returns it.
type Policy struct {
	Statements []Statement
}

// Statement is one policy statement. NotAction and NotResource invert their lists. Patterns
// are compiled when ParseAnswer reads the answer, so a cached answer matches without
// re-parsing; statements come from ParseAnswer only.
type Statement struct {
	Allow       bool
	Actions     []string
	NotAction   bool
	Resources   []string
	NotResource bool
	actions     []pattern
	resources   []pattern
}

// Decision is a policy's answer for one method ARN.
type Decision uint8

// Decisions: explicit Deny wins over Allow; no matching statement is an implicit deny.
const (
	NoMatch Decision = iota
	Allowed
	Denied
)

// Evaluate decides whether the policy lets the caller invoke methodArn (action
// execute-api:Invoke), as IAM does: an explicit Deny wins, then any Allow, else no match.
func (p *Policy) Evaluate(methodArn string) Decision {
	d := NoMatch
	for i := range p.Statements {
		s := &p.Statements[i]
		if matchAny(s.actions, invokeAction) == s.NotAction {
			continue
		}
		if matchAny(s.resources, methodArn) == s.NotResource {
			continue
		}
		if !s.Allow {
			return Denied
		}
		d = Allowed
	}
	return d
}

// invokeAction is the action API Gateway checks, lower-cased: actions compare
// case-insensitively, as IAM action names do (resources case-sensitively).
const invokeAction = "execute-api:invoke"

func (s *Statement) compile() {
	for _, a := range s.Actions {
		s.actions = append(s.actions, compilePattern(a, true))
	}
	for _, r := range s.Resources {
		s.resources = append(s.resources, compilePattern(r, false))
	}
}

// matchAny reports whether one pattern matches s.
func matchAny(patterns []pattern, s string) bool {
	for i := range patterns {
		if patterns[i].match(s) {
			return true
		}
	}
	return false
}

// ErrMalformed is an authorizer answer API Gateway cannot use: it answers 500 with
// AuthorizerConfigurationException.
var ErrMalformed = errors.New("authorizer: malformed answer")

// wireAnswer is a Lambda authorizer's answer. Action and Resource may be a string or a list.
type wireAnswer struct {
	PrincipalID        *json.RawMessage           `json:"principalId"`
	PolicyDocument     *wirePolicy                `json:"policyDocument"`
	Context            map[string]json.RawMessage `json:"context"`
	UsageIdentifierKey *string                    `json:"usageIdentifierKey"`
}

type wirePolicy struct {
	Version   string          `json:"Version"`
	Statement json.RawMessage `json:"Statement"`
}

type wireStatement struct {
	Effect      string          `json:"Effect"`
	Action      json.RawMessage `json:"Action"`
	NotAction   json.RawMessage `json:"NotAction"`
	Resource    json.RawMessage `json:"Resource"`
	NotResource json.RawMessage `json:"NotResource"`
	Condition   json.RawMessage `json:"Condition"`
}

// ParseAnswer reads a Lambda authorizer's answer. It wants a principalId (a string or a
// number), a policy document with at least one statement, each with Effect Allow or Deny, an
// Action and a Resource (string or list of strings; or their Not forms); context values must be
// strings, numbers or booleans, as API Gateway requires. Conditions are refused: Tollgate does
// not evaluate them, and ignoring one could allow what the policy meant to refuse.
func ParseAnswer(b []byte) (*Result, error) {
	var w wireAnswer
	if err := json.Unmarshal(b, &w); err != nil || w.PrincipalID == nil || w.PolicyDocument == nil {
		return nil, ErrMalformed
	}
	r := &Result{}
	var pid any
	if err := json.Unmarshal(*w.PrincipalID, &pid); err != nil {
		return nil, ErrMalformed
	}
	switch v := pid.(type) {
	case string:
		r.PrincipalID = v
	case float64:
		r.PrincipalID = strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return nil, ErrMalformed
	}
	stmts, err := oneOrMany[wireStatement](w.PolicyDocument.Statement)
	if err != nil || len(stmts) == 0 {
		return nil, ErrMalformed
	}
	p := &Policy{}
	for _, ws := range stmts {
		s, err := statement(ws)
		if err != nil {
			return nil, err
		}
		s.compile()
		p.Statements = append(p.Statements, s)
	}
	r.Policy = p
	if pj, err := json.Marshal(w.PolicyDocument); err == nil {
		r.PolicyJSON = string(pj)
	}
	for _, k := range sortedKeys(w.Context) {
		var v any
		if err := json.Unmarshal(w.Context[k], &v); err != nil {
			return nil, ErrMalformed
		}
		s, ok := scalar(v)
		if !ok {
			return nil, ErrMalformed
		}
		r.Context = append(r.Context, KV{k, s})
	}
	if w.UsageIdentifierKey != nil {
		r.UsageIdentifierKey = *w.UsageIdentifierKey
		r.KeyHash = sha256.Sum256([]byte(r.UsageIdentifierKey))
	}
	return r, nil
}

func statement(ws wireStatement) (Statement, error) {
	var s Statement
	switch ws.Effect {
	case "Allow":
		s.Allow = true
	case "Deny":
	default:
		return s, ErrMalformed
	}
	if len(ws.Condition) > 0 && string(ws.Condition) != "null" {
		return s, ErrMalformed
	}
	var err error
	if s.Actions, s.NotAction, err = either(ws.Action, ws.NotAction); err != nil {
		return s, err
	}
	if s.Resources, s.NotResource, err = either(ws.Resource, ws.NotResource); err != nil {
		return s, err
	}
	return s, nil
}

// either reads exactly one of a member and its Not form, each a string or a list of strings.
func either(pos, neg json.RawMessage) ([]string, bool, error) {
	switch {
	case len(pos) > 0 && len(neg) == 0:
		v, err := oneOrMany[string](pos)
		if err != nil || len(v) == 0 {
			return nil, false, ErrMalformed
		}
		return v, false, nil
	case len(neg) > 0 && len(pos) == 0:
		v, err := oneOrMany[string](neg)
		if err != nil || len(v) == 0 {
			return nil, false, ErrMalformed
		}
		return v, true, nil
	}
	return nil, false, ErrMalformed
}

// oneOrMany reads a JSON value that is one T or a list of them.
func oneOrMany[T any](raw json.RawMessage) ([]T, error) {
	if len(raw) == 0 {
		return nil, ErrMalformed
	}
	var list []T
	if raw[0] == '[' {
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, ErrMalformed
		}
		return list, nil
	}
	var one T
	if err := json.Unmarshal(raw, &one); err != nil {
		return nil, ErrMalformed
	}
	return []T{one}, nil
}

// scalar renders a JSON scalar as API Gateway passes context values on.
func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	}
	return "", false
}
