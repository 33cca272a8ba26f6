package sigv4

import (
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// BenchmarkAuthenticate measures verifying a typical SDK-signed management call (JSON body, session
// token, escaped path label, query) with a warm signing-key cache, and the presigned form.
func BenchmarkAuthenticate(b *testing.B) {
	body := []byte(`{"patchOperations":[{"op":"replace","path":"/description","value":"new"}]}`)
	v := newVerifier()
	b.Run("header", func(b *testing.B) {
		req := newRequest(b, "PATCH", "http://"+testHost+"/restapis/a1b2c3/stages/prod%20v2?mode=merge", body)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		sdkSign(b, req, body, aws.Credentials{AccessKeyID: testAK, SecretAccessKey: testSecret, SessionToken: "FwoGZXIvYXdzEtoken"},
			"apigateway", "us-east-1", testNow)
		benchVerify(b, v, req, body)
	})
	b.Run("presigned", func(b *testing.B) {
		req := sdkPresign(b, newRequest(b, "GET", "http://"+testHost+"/restapis?limit=25&X-Amz-Expires=300", nil),
			nil, "us-east-1", testNow)
		benchVerify(b, v, req, nil)
	})
}

// benchVerify verifies req as a server would see it (RequestURI set).
func benchVerify(b *testing.B, v *Verifier, req *http.Request, body []byte) {
	req.RequestURI = req.URL.RequestURI()
	if _, err := v.Authenticate(req, body); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Authenticate(req, body); err != nil {
			b.Fatal(err)
		}
	}
}
