package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/tollgate/tollgate/internal/apigw"
)

const (
	testAK     = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testHost   = "apigateway.us-east-1.amazonaws.com"
)

// testNow is the verifier's clock in every test that does not say otherwise.
var testNow = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

var testCreds = aws.Credentials{AccessKeyID: testAK, SecretAccessKey: testSecret}

func newVerifier(opts ...func(*Config)) *Verifier {
	cfg := Config{
		Credentials: map[string]string{testAK: testSecret, "AKIDOTHER": "other-secret"},
		Now:         func() time.Time { return testNow },
	}
	for _, o := range opts {
		o(&cfg)
	}
	return New(cfg)
}

func hashHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// sdkSign signs req with aws-sdk-go-v2's v4 signer, the reference implementation.
func sdkSign(t testing.TB, req *http.Request, body []byte, creds aws.Credentials, service, region string, at time.Time) {
	t.Helper()
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hashHex(body), service, region, at); err != nil {
		t.Fatalf("SDK SignHTTP: %v", err)
	}
}

// sdkPresign returns a request for the URL the SDK's PresignHTTP produced, carrying the headers it
// says were signed (host excepted: Go sends it from the URL).
func sdkPresign(t testing.TB, req *http.Request, body []byte, region string, at time.Time) *http.Request {
	t.Helper()
	u, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), testCreds, req, hashHex(body), "apigateway", region, at)
	if err != nil {
		t.Fatalf("SDK PresignHTTP: %v", err)
	}
	out, err := http.NewRequest(req.Method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("presigned URL %q: %v", u, err)
	}
	for k, v := range hdr {
		if k != "Host" {
			out.Header[k] = v
		}
	}
	return out
}

func newRequest(t testing.TB, method, rawURL string, body []byte) *http.Request {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	var req *http.Request
	var err error
	if rd != nil {
		req, err = http.NewRequest(method, rawURL, rd)
	} else {
		req, err = http.NewRequest(method, rawURL, nil)
	}
	if err != nil {
		t.Fatalf("NewRequest %q: %v", rawURL, err)
	}
	return req
}

// wantError asserts err is an *apigw.Error of kind k whose client message is exactly msg.
func wantError(t testing.TB, err error, k apigw.Kind, msg string) {
	t.Helper()
	var e *apigw.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *apigw.Error kind %d", err, err, k)
	}
	if e.Kind != k || e.Message != msg {
		t.Fatalf("error = kind %d %q\nwant      kind %d %q", e.Kind, e.Message, k, msg)
	}
}

func wantMismatch(t testing.TB, err error) {
	t.Helper()
	wantError(t, err, apigw.KindInvalidSignature, msgSignatureMismatch)
}

// sdkEscape escapes a path label the way the SDK's REST serializers do (httpbinding.EscapePath
// with encodeSep): everything but unreserved characters, '/' included.
func sdkEscape(s string) string { return string(appendEscaped(nil, s, false)) }

// randomRequest is a request built the ways clients build them: labels escaped like the SDK's
// serializers or like url.PathEscape, query values with spaces, '+', '/', unicode and duplicates,
// header values with runs of spaces, optional session token.
type randomRequest struct {
	method  string
	rawPath string
	query   string
	headers [][2]string
	body    []byte
	region  string
	token   string
}

const labelAlphabet = "abcXYZ019 :/%?#&=+!$'()*,;@[]~._-é"

func randString(r *rand.Rand, alphabet string, maxLen int) string {
	runes := []rune(alphabet)
	n := r.IntN(maxLen + 1)
	var b strings.Builder
	for range n {
		b.WriteRune(runes[r.IntN(len(runes))])
	}
	return b.String()
}

func newRandomRequest(r *rand.Rand) randomRequest {
	methods := []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
	regions := []string{"us-east-1", "eu-west-3", "ap-southeast-2", "us-gov-west-1", "local"}
	rr := randomRequest{method: methods[r.IntN(len(methods))], region: regions[r.IntN(len(regions))]}
	var segs []string
	for range r.IntN(5) {
		seg := randString(r, labelAlphabet, 12)
		if r.IntN(2) == 0 {
			segs = append(segs, sdkEscape(seg))
		} else {
			segs = append(segs, url.PathEscape(seg))
		}
	}
	rr.rawPath = "/" + strings.Join(segs, "/")
	if r.IntN(4) == 0 {
		rr.rawPath += "/"
	}
	q := url.Values{}
	for range r.IntN(4) {
		k := randString(r, "abkK_-~. /+=&é", 6)
		q.Add(k, randString(r, labelAlphabet, 10))
		if r.IntN(3) == 0 {
			q.Add(k, randString(r, labelAlphabet, 4))
		}
	}
	rr.query = q.Encode()
	for i := range r.IntN(4) {
		rr.headers = append(rr.headers, [2]string{fmt.Sprintf("X-Custom-%d", i), randString(r, "ab  c,;=\t", 12)})
	}
	if r.IntN(2) == 0 {
		rr.headers = append(rr.headers, [2]string{"Content-Type", "application/json"})
	}
	if rr.method != "GET" && rr.method != "HEAD" && r.IntN(4) != 0 {
		rr.body = []byte(randString(r, "{}\":,abc 12\n", 200))
	}
	if r.IntN(3) == 0 {
		rr.token = "FQoGZXIvYXdzE" + randString(r, "abcXYZ019+/=", 40)
	}
	return rr
}

func (rr randomRequest) url(host string) string {
	u := "http://" + host + rr.rawPath
	if rr.query != "" {
		u += "?" + rr.query
	}
	return u
}

// build returns the request SDK-signed at the given time.
func (rr randomRequest) build(t testing.TB, host string, at time.Time) *http.Request {
	t.Helper()
	req := newRequest(t, rr.method, rr.url(host), rr.body)
	for _, h := range rr.headers {
		req.Header.Add(h[0], h[1])
	}
	creds := testCreds
	creds.SessionToken = rr.token
	sdkSign(t, req, rr.body, creds, "apigateway", rr.region, at)
	return req
}

// signWithHash signs req with the SDK using payloadHash as the signed payload hash.
func signWithHash(req *http.Request, payloadHash string) error {
	return v4.NewSigner().SignHTTP(context.Background(), testCreds, req, payloadHash, "apigateway", "us-east-1", testNow)
}
