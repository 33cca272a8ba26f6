package sigv4

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/tollgate/tollgate/internal/apigw"
)

// presigned returns a presigned request from the SDK's PresignHTTP, signed at `at`, with
// X-Amz-Expires set when expires >= 0.
func presigned(t *testing.T, method, path string, body []byte, expires int, at time.Time) *http.Request {
	u := "http://" + testHost + path
	if expires >= 0 {
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		u += sep + "X-Amz-Expires=" + strconv.Itoa(expires)
	}
	req := newRequest(t, method, u, body)
	req.Header.Set("X-Custom", "a  b") // stays a signed header
	req.Header.Set("X-Amz-Note", "n")  // hoisted into the query by the SDK (X-Amz-* outside its must-stay-a-header list)
	return sdkPresign(t, req, body, "eu-west-1", at)
}

func TestPresignedURLs(t *testing.T) {
	body := []byte(`{"name":"k"}`)
	cases := []struct {
		name string
		req  func(t *testing.T) *http.Request
		body []byte
		kind apigw.Kind // 0 (KindInternal) means success
		msg  string
	}{
		{"GET with expiry", func(t *testing.T) *http.Request {
			return presigned(t, "GET", "/restapis/a%20b%3Ac?limit=5", nil, 300, testNow.Add(-time.Minute))
		}, nil, 0, ""},
		{"POST with body", func(t *testing.T) *http.Request {
			return presigned(t, "POST", "/apikeys", body, 60, testNow)
		}, body, 0, ""},
		{"no X-Amz-Expires, inside the window", func(t *testing.T) *http.Request {
			return presigned(t, "GET", "/restapis", nil, -1, testNow.Add(-4*time.Minute))
		}, nil, 0, ""},
		{"long expiry, an hour old", func(t *testing.T) *http.Request {
			return presigned(t, "GET", "/restapis", nil, 7200, testNow.Add(-time.Hour))
		}, nil, 0, ""},
		{"expired", func(t *testing.T) *http.Request {
			return presigned(t, "GET", "/restapis", nil, 300, testNow.Add(-10*time.Minute))
		}, nil, apigw.KindInvalidSignature,
			"Signature expired: 20260314T115000Z is now earlier than 20260314T115500Z (20260314T120000Z - 300 sec.)"},
		{"no X-Amz-Expires, outside the window", func(t *testing.T) *http.Request {
			return presigned(t, "GET", "/restapis", nil, -1, testNow.Add(-6*time.Minute))
		}, nil, apigw.KindInvalidSignature,
			"Signature expired: 20260314T115400Z is now earlier than 20260314T115500Z (20260314T120000Z - 5 min.)"},
		{"from the future", func(t *testing.T) *http.Request {
			return presigned(t, "GET", "/restapis", nil, 300, testNow.Add(10*time.Minute))
		}, nil, apigw.KindInvalidSignature,
			"Signature not yet current: 20260314T121000Z is still later than 20260314T120500Z (20260314T120000Z + 5 min.)"},
		{"tampered query", func(t *testing.T) *http.Request {
			req := presigned(t, "GET", "/restapis?limit=5", nil, 300, testNow)
			req.URL.RawQuery = strings.Replace(req.URL.RawQuery, "limit=5", "limit=6", 1)
			return req
		}, nil, apigw.KindInvalidSignature, msgSignatureMismatch},
		{"tampered expiry", func(t *testing.T) *http.Request {
			req := presigned(t, "GET", "/restapis", nil, 300, testNow)
			req.URL.RawQuery = strings.Replace(req.URL.RawQuery, "X-Amz-Expires=300", "X-Amz-Expires=301", 1)
			return req
		}, nil, apigw.KindInvalidSignature, msgSignatureMismatch},
		{"tampered signed header", func(t *testing.T) *http.Request {
			req := presigned(t, "GET", "/restapis", nil, 300, testNow)
			req.Header.Set("X-Custom", "other")
			return req
		}, nil, apigw.KindInvalidSignature, msgSignatureMismatch},
		{"tampered body", func(t *testing.T) *http.Request {
			return presigned(t, "POST", "/apikeys", body, 60, testNow)
		}, []byte(`{"name":"x"}`), apigw.KindInvalidSignature, msgSignatureMismatch},
		{"only X-Amz-Algorithm", func(t *testing.T) *http.Request {
			return newRequest(t, "GET", "http://"+testHost+"/restapis?X-Amz-Algorithm", nil)
		}, nil, apigw.KindIncompleteSignature,
			"AWS query-string parameters must include 'X-Amz-Algorithm'. AWS query-string parameters must include 'X-Amz-Credential'. " +
				"AWS query-string parameters must include 'X-Amz-Signature'. AWS query-string parameters must include 'X-Amz-SignedHeaders'. " +
				"AWS query-string parameters must include 'X-Amz-Date'. Re-examine the query-string parameters."},
		{"signature removed", func(t *testing.T) *http.Request {
			req := presigned(t, "GET", "/restapis", nil, 300, testNow)
			q := req.URL.Query()
			q.Del("X-Amz-Signature")
			req.URL.RawQuery = q.Encode()
			return req
		}, nil, apigw.KindIncompleteSignature,
			"AWS query-string parameters must include 'X-Amz-Signature'. Re-examine the query-string parameters."},
		{"expires not a number", func(t *testing.T) *http.Request {
			return presigned(t, "GET", "/restapis?X-Amz-Expires=soon", nil, -1, testNow)
		}, nil, apigw.KindIncompleteSignature, "X-Amz-Expires should be a number"},
		{"expires over a week", func(t *testing.T) *http.Request {
			return presigned(t, "GET", "/restapis", nil, 604801, testNow)
		}, nil, apigw.KindIncompleteSignature, "X-Amz-Expires must be less than a week (in seconds) that is 604800"},
		{"bad X-Amz-Date", func(t *testing.T) *http.Request {
			req := presigned(t, "GET", "/restapis", nil, 300, testNow)
			req.URL.RawQuery = strings.Replace(req.URL.RawQuery, "X-Amz-Date=20260314T120000Z", "X-Amz-Date=2026-03-14", 1)
			return req
		}, nil, apigw.KindIncompleteSignature,
			"Date must be in ISO-8601 'basic format'. Got '2026-03-14'. See http://en.wikipedia.org/wiki/ISO_8601"},
		{"unknown key", func(t *testing.T) *http.Request {
			req := presigned(t, "GET", "/restapis", nil, 300, testNow)
			req.URL.RawQuery = strings.Replace(req.URL.RawQuery, "AKIDEXAMPLE", "AKIDUNKNOWN", 1)
			return req
		}, nil, apigw.KindUnrecognizedClient, msgUnrecognizedClient},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req(t)
			if q := req.URL.Query(); q.Get("X-Amz-Note") == "" && tc.kind == 0 {
				t.Fatalf("SDK did not hoist X-Amz-Note into the query: %s", req.URL)
			}
			region, err := newVerifier().Authenticate(req, tc.body)
			if tc.kind == 0 {
				if err != nil || region != "eu-west-1" {
					t.Fatalf("region %q err %v (url %s)", region, err, req.URL)
				}
				return
			}
			wantError(t, err, tc.kind, tc.msg)
		})
	}
}

// A presigned URL carrying a session token (in the query, signed) verifies.
func TestPresignedSessionToken(t *testing.T) {
	req := newRequest(t, "GET", "http://"+testHost+"/restapis?X-Amz-Expires=60", nil)
	creds := testCreds
	creds.SessionToken = "tok/with+chars="
	u, _, err := v4.NewSigner().PresignHTTP(t.Context(), creds, req, hashHex(nil), "apigateway", "us-east-1", testNow)
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	if pu.Query().Get("X-Amz-Security-Token") != "tok/with+chars=" {
		t.Fatalf("no session token in %s", u)
	}
	if _, err := newVerifier().Authenticate(newRequest(t, "GET", u, nil), nil); err != nil {
		t.Fatal(err)
	}
}
