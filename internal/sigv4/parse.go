package sigv4

import (
	"net/url"
	"strings"

	"github.com/tollgate/tollgate/internal/apigw"
)

// algorithm is the only signing algorithm accepted.
const algorithm = "AWS4-HMAC-SHA256"

// authorization holds the four SigV4 fields, from the Authorization header or the presigned query.
type authorization struct {
	Algorithm     string
	Credential    string
	SignedHeaders string
	Signature     string
}

// parseAuthorization splits an Authorization header the way AWS does, so malformed headers get
// AWS's texts: the algorithm is everything up to the first space; the rest is a list of key=value
// components separated by commas and/or whitespace. A component without '=' is reported as such
// (that is what "Bearer <token>" gets from API Gateway); otherwise every missing parameter — and a
// missing date header when hasDate is false — is listed in one message. SignedHeaders may be
// empty here (the host check rejects it later); Credential and Signature may not.
func parseAuthorization(header string, hasDate bool) (authorization, *apigw.Error) {
	var a authorization
	rest := strings.TrimLeft(header, " \t")
	alg, rest, _ := strings.Cut(rest, " ")
	if strings.IndexByte(alg, '=') >= 0 {
		return a, incomplete(msgAlgorithmEqual)
	}
	a.Algorithm = alg
	hasSignedHeaders := false
	for rest != "" {
		i := strings.IndexAny(rest, ", \t")
		tok := rest
		if i >= 0 {
			tok, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		if tok == "" {
			continue
		}
		key, val, ok := strings.Cut(tok, "=")
		if !ok {
			return authorization{}, errMissingEqual(tok, header)
		}
		switch key {
		case "Credential":
			a.Credential = val
		case "SignedHeaders":
			a.SignedHeaders, hasSignedHeaders = val, true
		case "Signature":
			a.Signature = val
		}
	}
	if a.Credential == "" || a.Signature == "" || !hasSignedHeaders || !hasDate {
		return authorization{}, errHeaderClauses(a.Credential == "", a.Signature == "", !hasSignedHeaders, !hasDate, header)
	}
	return a, nil
}

// scope is a parsed credential: <access key>/<yyyymmdd>/<region>/<service>/aws4_request.
type scope struct {
	AccessKey, Date, Region, Service, Terminator string
}

// parseCredential splits a credential into its five elements. Trailing slashes are ignored, as
// AWS does; any other count is AWS's "exactly 5 slash-delimited elements" error.
func parseCredential(credential string) (scope, *apigw.Error) {
	s := strings.TrimRight(credential, "/")
	var parts [5]string
	for i := range 4 {
		p, rest, ok := strings.Cut(s, "/")
		if !ok {
			return scope{}, errCredentialShape(credential)
		}
		parts[i], s = p, rest
	}
	if strings.IndexByte(s, '/') >= 0 {
		return scope{}, errCredentialShape(credential)
	}
	parts[4] = s
	return scope{parts[0], parts[1], parts[2], parts[3], parts[4]}, nil
}

// queryParam is one decoded query parameter, in request order.
type queryParam struct{ Key, Value string }

// parseQuery decodes a raw query exactly like net/url.ParseQuery (which both the SDK's signer and
// the management server use): '+' is a space, pairs with a ';' or a bad escape are dropped, a key
// without '=' has an empty value. Order and duplicates are kept.
func parseQuery(raw string) []queryParam {
	if raw == "" {
		return nil
	}
	params := make([]queryParam, 0, strings.Count(raw, "&")+1)
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.IndexByte(pair, ';') >= 0 {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			continue
		}
		params = append(params, queryParam{k, v})
	}
	return params
}

// lookup returns the first value of key and whether the key is present at all.
func lookup(params []queryParam, key string) (string, bool) {
	for _, p := range params {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// signsHost reports whether the semicolon-separated signed-header list contains host
// (case-insensitively, as AWS checks it).
func signsHost(signedHeaders string) bool {
	for s := signedHeaders; s != ""; {
		var name string
		name, s, _ = strings.Cut(s, ";")
		if strings.EqualFold(name, "host") {
			return true
		}
	}
	return false
}
