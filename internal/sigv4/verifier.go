// Package sigv4 verifies AWS Signature Version 4 on management requests, in both forms clients use
// (Authorization header and presigned query), and rejects bad ones with API Gateway's error types
// and texts (rest-api-resources.md §9). It takes the credentials as a map, derives and caches
// signing keys, and compares signatures in constant time. Standard library only.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
)

// Config configures a Verifier.
type Config struct {
	Credentials map[string]string // access key id → secret access key
	// Lookup, when set, replaces Credentials: it is asked per request, so a credentials file
	// reloaded on SIGHUP takes effect at once.
	Lookup  func(accessKeyID string) (secret string, ok bool)
	Service string // signing name; default "apigateway"
	// MaxSkew is how far X-Amz-Date may be from now, either way. Default 5 minutes: API Gateway's
	// window (its messages print "± 5 min."), not the 15 minutes of JSON-protocol services.
	MaxSkew time.Duration
	// Regions says which credential-scope regions are valid; nil accepts any well-formed region.
	Regions func(string) bool
	// Insecure accepts any well-formed signature from any access key (a dev switch; the caller
	// must log that it is on). Parsing, scope and clock checks still apply.
	Insecure bool
	// Debug appends the expected canonical request and string-to-sign to mismatch messages, as
	// AWS sometimes does. Off by default: they are always in the error's Cause for the log.
	Debug bool
	Now   func() time.Time
}

// Verifier checks SigV4 signatures. It is safe for concurrent use.
type Verifier struct {
	cfg  Config
	keys keyCache
}

// New returns a Verifier for cfg, filling defaults. The credentials map is copied.
func New(cfg Config) *Verifier {
	creds := make(map[string]string, len(cfg.Credentials))
	for k, v := range cfg.Credentials {
		creds[k] = v
	}
	cfg.Credentials = creds
	if cfg.Lookup == nil {
		cfg.Lookup = func(id string) (string, bool) { s, ok := creds[id]; return s, ok }
	}
	if cfg.Service == "" {
		cfg.Service = "apigateway"
	}
	if cfg.MaxSkew <= 0 {
		cfg.MaxSkew = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Verifier{cfg: cfg}
}

// signed is what both forms reduce to before the scope, key, clock and signature checks.
type signed struct {
	auth      authorization
	scope     scope
	date      time.Time
	presigned bool
	expires   time.Duration // presigned with X-Amz-Expires only; else -1
	params    []queryParam
}

// Authenticate verifies r (whose full body is body) and returns the region of its credential
// scope. Errors are *apigw.Error of the SigV4 kinds, checked in AWS's order: missing → malformed →
// credential scope → access key → clock window → signature.
func (v *Verifier) Authenticate(r *http.Request, body []byte) (string, error) {
	s, e := v.parse(r)
	if e == nil {
		e = v.checkScope(&s)
	}
	if e != nil {
		return "", e
	}
	secret, known := v.cfg.Lookup(s.scope.AccessKey)
	if !known && !v.cfg.Insecure {
		e := &apigw.Error{Kind: apigw.KindUnrecognizedClient, Message: msgUnrecognizedClient}
		e.Cause = fmt.Errorf("unknown access key id %q", s.scope.AccessKey)
		return "", e
	}
	if e := v.checkClock(&s); e != nil {
		return "", e
	}
	if v.cfg.Insecure {
		if !wellFormedSignature(s.auth.Signature) {
			return "", errMismatch(false, "", "")
		}
		return s.scope.Region, nil
	}
	if e := v.checkSignature(r, body, &s, secret); e != nil {
		return "", e
	}
	return s.scope.Region, nil
}

// parse finds the form in use and extracts and validates its fields.
func (v *Verifier) parse(r *http.Request) (signed, *apigw.Error) {
	params := parseQuery(r.URL.RawQuery)
	header := r.Header.Get("Authorization")
	hasHeader := strings.TrimSpace(header) != ""
	_, presigned := lookup(params, "X-Amz-Algorithm")
	var (
		s signed
		e *apigw.Error
	)
	switch {
	case hasHeader && presigned:
		return s, invalid(msgBothForms)
	case hasHeader:
		s, e = parseHeaderForm(r, header)
	case presigned:
		s, e = parseQueryForm(params)
	default:
		return s, errMissingToken()
	}
	if e != nil {
		return s, e
	}
	s.params = params
	if !signsHost(s.auth.SignedHeaders) {
		return s, invalid(msgHostNotSigned)
	}
	if s.auth.Algorithm != algorithm {
		return s, errAlgorithm(s.auth.Algorithm)
	}
	s.scope, e = parseCredential(s.auth.Credential)
	return s, e
}

func parseHeaderForm(r *http.Request, header string) (signed, *apigw.Error) {
	raw, isAmz := r.Header.Get("X-Amz-Date"), true
	if raw == "" {
		raw, isAmz = r.Header.Get("Date"), false
	}
	a, e := parseAuthorization(header, raw != "")
	if e != nil {
		return signed{}, e
	}
	var t time.Time
	var err error
	if isAmz {
		t, err = time.Parse(amzTimeFormat, raw)
	} else {
		t, err = http.ParseTime(raw)
	}
	if err != nil {
		return signed{}, errDateFormat(raw)
	}
	return signed{auth: a, date: t.UTC(), expires: -1}, nil
}

// maxExpires is the longest validity a presigned URL may ask for (one week), as in S3.
const maxExpires = 604800

func parseQueryForm(params []queryParam) (signed, *apigw.Error) {
	get := func(k string) string { v, _ := lookup(params, k); return v }
	s := signed{presigned: true, expires: -1, auth: authorization{
		Algorithm:     get("X-Amz-Algorithm"),
		Credential:    get("X-Amz-Credential"),
		Signature:     get("X-Amz-Signature"),
		SignedHeaders: get("X-Amz-SignedHeaders"),
	}}
	raw := get("X-Amz-Date")
	var missing []string
	for _, p := range [...]struct{ name, value string }{
		{"X-Amz-Algorithm", s.auth.Algorithm}, {"X-Amz-Credential", s.auth.Credential},
		{"X-Amz-Signature", s.auth.Signature}, {"X-Amz-SignedHeaders", s.auth.SignedHeaders},
		{"X-Amz-Date", raw},
	} {
		if p.value == "" {
			missing = append(missing, p.name)
		}
	}
	if len(missing) > 0 {
		return signed{}, errQueryClauses(missing)
	}
	t, err := time.Parse(amzTimeFormat, raw)
	if err != nil {
		return signed{}, errDateFormat(raw)
	}
	s.date = t.UTC()
	if exp, ok := lookup(params, "X-Amz-Expires"); ok {
		n, err := strconv.ParseInt(exp, 10, 64)
		if err != nil || n < 0 {
			return signed{}, incomplete(msgExpiresNumber)
		}
		if n > maxExpires {
			return signed{}, incomplete(msgExpiresWeek)
		}
		s.expires = time.Duration(n) * time.Second
	}
	return s, nil
}

// checkScope checks region, service, terminator and date of the credential scope, reporting every
// failing clause at once as AWS does.
func (v *Verifier) checkScope(s *signed) *apigw.Error {
	var b strings.Builder
	if !v.validRegion(s.scope.Region) {
		b.WriteString(clauseRegion(s.scope.Region))
	}
	if s.scope.Service != v.cfg.Service {
		b.WriteString(clauseService(v.cfg.Service))
	}
	if s.scope.Terminator != "aws4_request" {
		b.WriteString(clauseTerminator(s.scope.Terminator))
	}
	var day [len(scopeDateFmt)]byte
	if s.scope.Date != string(s.date.AppendFormat(day[:0], scopeDateFmt)) {
		b.WriteString(clauseScopeDate(s.scope.Date, s.date))
	}
	if b.Len() > 0 {
		return invalid(b.String())
	}
	return nil
}

func (v *Verifier) validRegion(region string) bool {
	if !wellFormedRegion(region) {
		return false
	}
	return v.cfg.Regions == nil || v.cfg.Regions(region)
}

// wellFormedRegion accepts AWS-shaped names (us-east-1, us-gov-west-1, eusc-de-east-1) and the
// single-word names local tools use ("local"): lower-case letters, digits and single hyphens,
// starting with a letter, at most 32 characters. The region keys the store, so nothing else passes.
func wellFormedRegion(r string) bool {
	if r == "" || len(r) > 32 || r[0] < 'a' || r[0] > 'z' || r[len(r)-1] == '-' {
		return false
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '-' && r[i-1] != '-':
		default:
			return false
		}
	}
	return true
}

// checkClock applies the skew window; a presigned URL with X-Amz-Expires is instead valid from its
// date (less the skew, for clients whose clock runs ahead) until date + expires.
func (v *Verifier) checkClock(s *signed) *apigw.Error {
	now := v.cfg.Now().UTC()
	skew := v.cfg.MaxSkew
	if s.date.After(now.Add(skew)) {
		return errNotYetCurrent(s.date, now, skew)
	}
	if s.expires >= 0 {
		if now.After(s.date.Add(s.expires)) {
			return errPresignExpired(s.date, now, s.expires)
		}
		return nil
	}
	if s.date.Before(now.Add(-skew)) {
		return errExpired(s.date, now, skew)
	}
	return nil
}

func wellFormedSignature(sig string) bool {
	if len(sig) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(sig); i++ {
		if c := sig[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// maxPooledBuf caps the canonical-request buffers kept for reuse.
const maxPooledBuf = 64 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// checkSignature recomputes the signature over the canonical request and compares it in constant
// time. The path is tried as sent and, if that differs, normalized (botocore signs the normalized
// form). The payload hash is always the hash of the body received: UNSIGNED-PAYLOAD is S3's alone
// (elsewhere AWS hashes what it received, so a body swapped after signing no longer matches), and
// an X-Amz-Content-Sha256 header that is not the body's hash is a mismatch.
func (v *Verifier) checkSignature(r *http.Request, body []byte, s *signed, secret string) *apigw.Error {
	var provided [2 * sha256.Size]byte
	if len(s.auth.Signature) != len(provided) {
		return errMismatch(false, "", "")
	}
	copy(provided[:], s.auth.Signature)
	var bodyHex [2 * sha256.Size]byte
	sum := sha256.Sum256(body)
	hex.Encode(bodyHex[:], sum[:])
	if claimed := r.Header.Get("X-Amz-Content-Sha256"); claimed != "" && claimed != string(bodyHex[:]) {
		return errMismatch(false, "", "")
	}
	payloadHash := string(bodyHex[:])
	key := v.keys.get(secret, s.scope.Date, s.scope.Region, v.cfg.Service)
	bp := bufPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= maxPooledBuf { // a huge query or header set should not pin memory
			bufPool.Put(bp)
		}
	}()

	path := requestPath(r)
	var firstCanonical, firstSTS string
	for attempt := 0; attempt < 2; attempt++ {
		if attempt == 1 {
			if np := normalizePath(path); np != path {
				path = np
			} else {
				break
			}
		}
		buf := appendCanonicalRequest((*bp)[:0], r, path, s.params, s.presigned, s.auth.SignedHeaders, payloadHash)
		crHash := sha256.Sum256(buf)
		n := len(buf)
		buf = appendStringToSign(buf, s, crHash)
		sts := buf[n:]
		mac := hmac.New(sha256.New, key[:])
		mac.Write(sts)
		buf = mac.Sum(buf) // into the pooled buffer: a local array would escape through hash.Hash
		var gotHex [2 * sha256.Size]byte
		hex.Encode(gotHex[:], buf[len(buf)-sha256.Size:])
		*bp = buf
		if subtle.ConstantTimeCompare(gotHex[:], provided[:]) == 1 {
			return nil
		}
		if attempt == 0 {
			firstCanonical, firstSTS = string(buf[:n]), string(sts)
		}
	}
	return errMismatch(v.cfg.Debug, firstCanonical, firstSTS)
}

// appendStringToSign appends "AWS4-HMAC-SHA256 \n <ISO date> \n <scope> \n hex(sha256(canonical))".
func appendStringToSign(dst []byte, s *signed, crHash [sha256.Size]byte) []byte {
	dst = append(dst, algorithm...)
	dst = append(dst, '\n')
	dst = s.date.AppendFormat(dst, amzTimeFormat)
	dst = append(dst, '\n')
	dst = append(dst, s.scope.Date...)
	dst = append(dst, '/')
	dst = append(dst, s.scope.Region...)
	dst = append(dst, '/')
	dst = append(dst, s.scope.Service...)
	dst = append(dst, '/')
	dst = append(dst, s.scope.Terminator...)
	dst = append(dst, '\n')
	return hex.AppendEncode(dst, crHash[:])
}
