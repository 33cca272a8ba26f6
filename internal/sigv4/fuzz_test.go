package sigv4

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
)

// FuzzParseAuthorization: the header parser never panics, rejects only with IncompleteSignature,
// and what it accepts round-trips: re-serializing the four fields and parsing again yields them.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{
		"", " ", "Bearer x", "Bearer a=b", jwtHeader, "Basic dXNlcjpwYXNz==", "x-api-key=abc",
		"AWS4-HMAC-SHA256 Credential=" + goodCred + ", SignedHeaders=host;x-amz-date, Signature=" + goodSig,
		"AWS4-HMAC-SHA256 Credential= " + goodCred + ", SignedHeaders=host, Signature=" + goodSig,
		"AWS4-HMAC-SHA256 Credential=a,SignedHeaders=,Signature=b",
		"AWS4-HMAC-SHA256  Credential=a=b,\tSignedHeaders=x ,, Signature==",
		"AWS4-HMAC-SHA256 Signature=b, Credential, SignedHeaders",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, header string, hasDate bool) {
		a, e := parseAuthorization(header, hasDate)
		if e != nil {
			if e.Kind != apigw.KindIncompleteSignature || e.Message == "" {
				t.Fatalf("rejection %+v", e)
			}
			if strings.HasPrefix(e.Message, "Authorization header requires") && !strings.HasSuffix(e.Message, "Authorization="+header) {
				t.Fatalf("clause list does not echo the header: %q", e.Message)
			}
			return
		}
		if !hasDate || a.Credential == "" || a.Signature == "" {
			t.Fatalf("accepted without date/credential/signature: %+v", a)
		}
		for _, field := range []string{a.Credential, a.SignedHeaders, a.Signature} {
			if strings.ContainsAny(field, ", \t") {
				t.Fatalf("field %q holds a separator", field)
			}
		}
		if strings.ContainsAny(a.Algorithm, " =") {
			t.Fatalf("algorithm %q holds a space or '='", a.Algorithm)
		}
		again := a.Algorithm + " Credential=" + a.Credential + ", SignedHeaders=" + a.SignedHeaders + ", Signature=" + a.Signature
		b, e := parseAuthorization(again, true)
		if e != nil || b != a {
			t.Fatalf("round trip of %q: %+v, %v; want %+v", again, b, e, a)
		}
	})
}

// FuzzSDKSignVerify is the differential target: whatever the SDK signs for "apigateway" (any method,
// path, query, header value, body, region, signing time inside the window; header or presigned
// form) verifies and yields the region; flipping a signature byte or a body byte makes it fail.
func FuzzSDKSignVerify(f *testing.F) {
	f.Add(uint8(0), "/tags/arn:aws:apigateway:us-east-1::/restapis/abc", "k", "v", "a  b", []byte("{}"), uint8(0), int16(0), false, false)
	f.Add(uint8(1), "/restapis/a b/x%y", "a b", "c+d/e", " x ", []byte{}, uint8(1), int16(-299), true, false)
	f.Add(uint8(2), "", "", "", "", []byte("body"), uint8(2), int16(300), false, true)
	f.Add(uint8(3), "//a/../b/./c", "X-Amz-Foo", "€", "\t", []byte("\x00\xff"), uint8(3), int16(17), true, true)
	methods := []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}
	regions := []string{"us-east-1", "eu-west-1", "ap-northeast-3", "local"}
	f.Fuzz(func(t *testing.T, m uint8, path, qk, qv, hv string, body []byte, reg uint8, age int16, pathEscape, presign bool) {
		if age < -300 || age > 300 {
			t.Skip()
		}
		var segs []string
		for _, seg := range strings.Split(path, "/") {
			if pathEscape {
				segs = append(segs, url.PathEscape(seg))
			} else {
				segs = append(segs, sdkEscape(seg))
			}
		}
		rr := randomRequest{
			method:  methods[int(m)%len(methods)],
			rawPath: "/" + strings.TrimPrefix(strings.Join(segs, "/"), "/"),
			body:    body,
			region:  regions[int(reg)%len(regions)],
			headers: [][2]string{{"X-Fuzz", hv}},
		}
		if qk != "" || qv != "" {
			rr.query = url.Values{qk: {qv}}.Encode()
		}
		at := testNow.Add(time.Duration(age) * time.Second)
		var req *http.Request
		if presign {
			req = sdkPresign(t, newRequestFrom(t, rr), body, rr.region, at)
		} else {
			req = rr.build(t, testHost, at)
		}
		v := newVerifier()
		region, err := v.Authenticate(req, body)
		if err != nil || region != rr.region {
			t.Fatalf("%s %s: region %q err %v", rr.method, req.URL, region, err)
		}
		tampered := append(append([]byte(nil), body...), 'x')
		if _, err := v.Authenticate(req, tampered); !isMismatch(err) {
			t.Fatalf("tampered body: %v", err)
		}
		flipSignature(req, int(age))
		if _, err := v.Authenticate(req, body); !isMismatch(err) {
			t.Fatalf("flipped signature: %v", err)
		}
	})
}

// newRequestFrom is rr unsigned, with its headers.
func newRequestFrom(t *testing.T, rr randomRequest) *http.Request {
	req := newRequest(t, rr.method, rr.url(testHost), rr.body)
	for _, h := range rr.headers {
		req.Header.Add(h[0], h[1])
	}
	return req
}

// flipSignature changes one hex digit of the signature, in whichever form the request carries it.
func flipSignature(req *http.Request, n int) {
	flip := func(sig string) string {
		i := (n%64 + 64) % 64
		c := byte('0')
		if sig[i] == '0' {
			c = '1'
		}
		return sig[:i] + string(c) + sig[i+1:]
	}
	if h := req.Header.Get("Authorization"); h != "" {
		i := strings.LastIndex(h, "Signature=") + len("Signature=")
		req.Header.Set("Authorization", h[:i]+flip(h[i:]))
		return
	}
	q := req.URL.Query()
	q.Set("X-Amz-Signature", flip(q.Get("X-Amz-Signature")))
	req.URL.RawQuery = q.Encode()
}

func isMismatch(err error) bool {
	var e *apigw.Error
	return errors.As(err, &e) && e.Kind == apigw.KindInvalidSignature && e.Message == msgSignatureMismatch
}

// FuzzAuthenticate feeds arbitrary Authorization headers, dates, request URIs and queries to the
// whole verifier: it never panics and fails only with the four SigV4 kinds.
func FuzzAuthenticate(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential="+goodCred+", SignedHeaders=host;x-amz-date, Signature="+goodSig,
		"20260314T120000Z", "/restapis/a%3Ab", "limit=1")
	f.Add("", "", "/", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="+url.QueryEscape(goodCred)+
		"&X-Amz-Date=20260314T120000Z&X-Amz-SignedHeaders=host&X-Amz-Signature="+goodSig+"&X-Amz-Expires=60")
	f.Add("Bearer x", "", "*", "a=%zz;b")
	f.Add("AWS4-HMAC-SHA256 Credential=////, SignedHeaders=;;HOST, Signature=x", "Mon, 09 Sep 2011 23:36:00 GMT", "//../", "")
	allowed := map[apigw.Kind]bool{apigw.KindMissingAuthenticationToken: true, apigw.KindIncompleteSignature: true,
		apigw.KindUnrecognizedClient: true, apigw.KindInvalidSignature: true}
	v := newVerifier(func(c *Config) { c.Debug = true })
	f.Fuzz(func(t *testing.T, authz, date, requestURI, rawQuery string) {
		req := &http.Request{Method: "GET", Host: testHost, Header: http.Header{}, RequestURI: requestURI,
			URL: &url.URL{Path: requestURI, RawQuery: rawQuery}}
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		if date != "" {
			req.Header.Set("X-Amz-Date", date)
		}
		_, err := v.Authenticate(req, []byte(rawQuery))
		var e *apigw.Error
		if err != nil && (!errors.As(err, &e) || !allowed[e.Kind] || e.Message == "") {
			t.Fatalf("error %#v", err)
		}
	})
}
