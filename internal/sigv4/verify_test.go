package sigv4

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
)

// Requests the SDK signs for "apigateway" verify, and the region comes from the credential scope.
func TestSDKSignedRequestsVerify(t *testing.T) {
	cases := []randomRequest{
		{method: "GET", rawPath: "/", region: "us-east-1"},
		{method: "GET", rawPath: "", region: "us-east-1"},
		{method: "GET", rawPath: "/restapis", query: "limit=25&position=abc%2Bdef", region: "eu-west-1"},
		{method: "POST", rawPath: "/apikeys", query: "mode=import&format=csv&failonwarnings=true",
			body: []byte("name,key,enabled\nk1,0123456789abcdefghij,true\n"), region: "us-west-2"},
		{method: "PUT", rawPath: "/tags/arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Frestapis%2Fabc",
			body: []byte(`{"tags":{"k":"v"}}`), region: "us-east-1"},
		{method: "DELETE", rawPath: "/tags/arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Frestapis%2Fabc",
			query: "tagKeys=a%20b&tagKeys=a%2Fb&tagKeys=a-b", region: "us-east-1"},
		{method: "GET", rawPath: "/restapis/a%20b/stages/x:y", region: "ap-south-1"},
		{method: "PATCH", rawPath: "/restapis/abc/resources/r1/methods/GET", body: []byte(`{"patchOperations":[]}`),
			headers: [][2]string{{"Content-Type", "application/json"}, {"X-Custom", "  a   b  c  "}}, region: "sa-east-1"},
		{method: "GET", rawPath: "/usageplans", query: "keyId=%E2%82%AC%20+x", region: "us-east-1", token: "session/token+="},
		{method: "GET", rawPath: "/restapis/%7Eid%21%2A%27%28%29", region: "us-east-1"},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		cases = append(cases, newRandomRequest(r))
	}
	v := newVerifier()
	for i, rr := range cases {
		req := rr.build(t, testHost, testNow.Add(-90*time.Second))
		region, err := v.Authenticate(req, rr.body)
		if err != nil {
			t.Fatalf("case %d %s %s?%s: %v", i, rr.method, rr.rawPath, rr.query, err)
		}
		if region != rr.region {
			t.Fatalf("case %d: region = %q, want %q", i, region, rr.region)
		}
	}
}

// Through a real HTTP server: what the server sees (RequestURI, Host, Content-Length in the header
// map, Transfer-Encoding) is what the client signed.
func TestSDKSignedRequestsVerifyOverTheWire(t *testing.T) {
	v := New(Config{Credentials: map[string]string{testAK: testSecret}})
	type result struct {
		region string
		err    error
	}
	results := make(chan result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		region, err := v.Authenticate(r, body)
		results <- result{region, err}
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 80 {
		rr := newRandomRequest(r)
		req := rr.build(t, host, time.Now())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		resp.Body.Close()
		got := <-results
		if got.err != nil || got.region != rr.region {
			t.Fatalf("case %d %s %s?%s: region %q err %v", i, rr.method, rr.rawPath, rr.query, got.region, got.err)
		}
	}
}

// Any change to what was signed must fail with the mismatch text.
func TestTamperingFails(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	v := newVerifier()
	tampers := []struct {
		name  string
		apply func(req *http.Request, body []byte) []byte
	}{
		{"signature byte", func(req *http.Request, body []byte) []byte {
			h := req.Header.Get("Authorization")
			i := len(h) - 1 - r.IntN(64)
			c := byte('0')
			if h[i] == '0' {
				c = 'f'
			}
			req.Header.Set("Authorization", h[:i]+string(c)+h[i+1:])
			return body
		}},
		{"body byte", func(req *http.Request, body []byte) []byte {
			if len(body) == 0 {
				return []byte("x")
			}
			b := bytes.Clone(body)
			b[r.IntN(len(b))] ^= 0x01
			return b
		}},
		{"signed header", func(req *http.Request, body []byte) []byte {
			req.Header.Set("X-Amz-Date", testNow.Add(-89*time.Second).Format(amzTimeFormat))
			return body
		}},
		{"custom signed header", func(req *http.Request, body []byte) []byte {
			req.Header.Set("X-Custom-0", req.Header.Get("X-Custom-0")+"x")
			return body
		}},
		{"path", func(req *http.Request, body []byte) []byte {
			req.URL.RawPath = req.URL.EscapedPath() + "x"
			req.URL.Path += "x"
			return body
		}},
		{"path escaping", func(req *http.Request, body []byte) []byte {
			// Same decoded path, different bytes on the wire: signed paths are the escaped form.
			req.URL.RawPath = strings.Replace(req.URL.EscapedPath(), "%3A", ":", 1)
			if req.URL.RawPath == req.URL.EscapedPath() {
				req.URL.RawPath += "%2F"
				req.URL.Path += "/"
			}
			return body
		}},
		{"query", func(req *http.Request, body []byte) []byte {
			req.URL.RawQuery += "&extra=1"
			return body
		}},
		{"method", func(req *http.Request, body []byte) []byte {
			req.Method = "TRACE"
			return body
		}},
		{"host", func(req *http.Request, body []byte) []byte {
			req.Host = "apigateway.us-east-2.amazonaws.com"
			return body
		}},
	}
	for i := range 60 {
		rr := newRandomRequest(r)
		rr.headers = append(rr.headers, [2]string{"X-Custom-0", "v"})
		rr.rawPath += "/arn%3Aaws"
		for _, tp := range tampers {
			req := rr.build(t, testHost, testNow)
			body := tp.apply(req, bytes.Clone(rr.body))
			_, err := v.Authenticate(req, body)
			if err == nil {
				t.Fatalf("case %d %s: tampered request verified (%s %s)", i, tp.name, rr.method, req.URL)
			}
			wantMismatch(t, err)
		}
	}
}

// A signature by another known key, or for the right key with the wrong secret, is a mismatch.
func TestWrongSecretFails(t *testing.T) {
	req := newRequest(t, "GET", "http://"+testHost+"/restapis", nil)
	creds := testCreds
	creds.SecretAccessKey = "not-the-secret"
	sdkSign(t, req, nil, creds, "apigateway", "us-east-1", testNow)
	_, err := newVerifier().Authenticate(req, nil)
	wantMismatch(t, err)
}

// The payload hash is the hash of the body received. UNSIGNED-PAYLOAD is refused (AWS accepts it on
// S3 only): with it, a body swapped after signing would pass. A claimed hash must match the body.
func TestContentSHA256Header(t *testing.T) {
	body := []byte(`{"name":"x"}`)
	cases := []struct {
		name, header, signedHash string
		sentBody                 []byte
		ok                       bool
	}{
		{"matching hash", hashHex(body), hashHex(body), body, true},
		{"unsigned payload", "UNSIGNED-PAYLOAD", "UNSIGNED-PAYLOAD", body, false},
		{"unsigned payload, other body", "UNSIGNED-PAYLOAD", "UNSIGNED-PAYLOAD", []byte("other"), false},
		{"no header, signed hash of the body", "", hashHex(body), body, true},
		{"claimed hash of another body", hashHex([]byte("other")), hashHex([]byte("other")), body, false},
		{"streaming", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", body, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := newRequest(t, "POST", "http://"+testHost+"/restapis", body)
			req.Header.Set("X-Amz-Content-Sha256", tc.header)
			if err := signWithHash(req, tc.signedHash); err != nil {
				t.Fatal(err)
			}
			_, err := newVerifier().Authenticate(req, tc.sentBody)
			if tc.ok && err != nil {
				t.Fatalf("err = %v", err)
			}
			if !tc.ok {
				wantMismatch(t, err)
			}
		})
	}
}

// The Date header form and path normalization, checked against AWS's published vectors rather
// than the SDK: the 2011 suite's get-vanilla (Date header, service "host") and its relative-path
// variants (same signature: the canonical URI is the normalized "/"), and the IAM ListUsers
// example of the signing guide (X-Amz-Date).
func TestPublishedVectors(t *testing.T) {
	const vanilla = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, " +
		"SignedHeaders=date;host, Signature=b27ccfbfa7df52a200ff74193ca6e32d4b48b8856fab7ebf1c595d0670a7e470"
	const iam = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, " +
		"SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
	cases := []struct {
		name, service, url, auth string
		headers                  map[string]string
		now                      time.Time
	}{
		{"get-vanilla", "host", "http://host.foo.com/", vanilla,
			map[string]string{"Date": "Mon, 09 Sep 2011 23:36:00 GMT"}, time.Date(2011, 9, 9, 23, 36, 0, 0, time.UTC)},
		{"get-relative", "host", "http://host.foo.com/foo/..", vanilla,
			map[string]string{"Date": "Mon, 09 Sep 2011 23:36:00 GMT"}, time.Date(2011, 9, 9, 23, 38, 0, 0, time.UTC)},
		{"get-relative-relative", "host", "http://host.foo.com/foo/bar/../..", vanilla,
			map[string]string{"Date": "Mon, 09 Sep 2011 23:36:00 GMT"}, time.Date(2011, 9, 9, 23, 36, 0, 0, time.UTC)},
		{"get-slash", "host", "http://host.foo.com//", vanilla,
			map[string]string{"Date": "Mon, 09 Sep 2011 23:36:00 GMT"}, time.Date(2011, 9, 9, 23, 36, 0, 0, time.UTC)},
		{"iam-listusers", "iam", "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08", iam,
			map[string]string{"X-Amz-Date": "20150830T123600Z", "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
			time.Date(2015, 8, 30, 12, 40, 0, 0, time.UTC)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := New(Config{Service: tc.service, Credentials: map[string]string{testAK: testSecret},
				Now: func() time.Time { return tc.now }})
			req := newRequest(t, "GET", tc.url, nil)
			req.Header.Set("Authorization", tc.auth)
			for k, val := range tc.headers {
				req.Header.Set(k, val)
			}
			region, err := v.Authenticate(req, nil)
			if err != nil || region != "us-east-1" {
				t.Fatalf("region %q, err %v", region, err)
			}
			req.Header.Set("Authorization", strings.Replace(tc.auth, "Signature=5", "Signature=6", 1))
			req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "Signature=b", "Signature=c", 1))
			_, err = v.Authenticate(req, nil)
			wantMismatch(t, err)
		})
	}
}

// Insecure mode accepts any well-formed signature from any key, but not a malformed one, and
// keeps the scope and clock checks.
func TestInsecure(t *testing.T) {
	v := newVerifier(func(c *Config) { c.Insecure = true })
	req := newRequest(t, "GET", "http://"+testHost+"/restapis", nil)
	creds := testCreds
	creds.AccessKeyID, creds.SecretAccessKey = "AKIDUNKNOWN", "whatever"
	sdkSign(t, req, nil, creds, "apigateway", "eu-central-1", testNow)
	if region, err := v.Authenticate(req, nil); err != nil || region != "eu-central-1" {
		t.Fatalf("region %q err %v", region, err)
	}
	h := req.Header.Get("Authorization")
	req.Header.Set("Authorization", h[:len(h)-1])
	_, err := v.Authenticate(req, nil)
	wantMismatch(t, err)

	old := newRequest(t, "GET", "http://"+testHost+"/restapis", nil)
	sdkSign(t, old, nil, creds, "apigateway", "eu-central-1", testNow.Add(-time.Hour))
	_, err = v.Authenticate(old, nil)
	if apigw.KindOf(err) != apigw.KindInvalidSignature || !strings.HasPrefix(err.Error(), "Signature expired") {
		t.Fatalf("err = %v, want Signature expired", err)
	}
}

// Debug mode appends AWS's canonical-request explanation for the client; without it the text is
// exact, and the error (whose text reaches the operator's log) carries no canonical request: it
// holds the values of signed headers such as x-api-key.
func TestMismatchDetail(t *testing.T) {
	req := newRequest(t, "GET", "http://"+testHost+"/restapis/a%3Ab", nil)
	req.Header.Set("X-Api-Key", "marker-key-value")
	creds := testCreds
	creds.SecretAccessKey = "wrong"
	sdkSign(t, req, nil, creds, "apigateway", "us-east-1", testNow)
	_, err := newVerifier().Authenticate(req, nil)
	wantMismatch(t, err)
	if err.Error() != msgSignatureMismatch {
		t.Fatalf("the error carries more than AWS's text: %v", err)
	}
	_, err = newVerifier(func(c *Config) { c.Debug = true }).Authenticate(req, nil)
	e := err.(*apigw.Error)
	want := msgSignatureMismatch + "\n\nThe Canonical String for this request should have been\n'GET\n/restapis/a%253Ab\n\n"
	if !strings.HasPrefix(e.Message, want) || !strings.Contains(e.Message, "\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\n20260314T120000Z\n20260314/us-east-1/apigateway/aws4_request\n") {
		t.Fatalf("debug message = %q", e.Message)
	}
}
