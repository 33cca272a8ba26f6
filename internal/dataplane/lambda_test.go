package dataplane

import (
	"fmt"
	"strings"
	"testing"
)

func TestLambdaPath(t *testing.T) {
	for _, c := range []struct{ uri, region, path string }{
		{"arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:f/invocations",
			"eu-west-1", "/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:f/invocations"},
		{"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:f:live/invocations",
			"us-east-1", "/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:f:live/invocations"},
		{"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/a%2Fb/invocations", "us-east-1", "/2015-03-31/functions/a%252Fb/invocations"},
		{"arn:aws:apigateway:us-east-1:firehose:action/PutRecord", "", ""},
		{"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions//invocations", "", ""},
	} {
		region, path, ok := lambdaPath(c.uri)
		if ok != (c.path != "") || region != c.region || path != c.path {
			t.Errorf("%s → %q %q %v", c.uri, region, path, ok)
		}
	}
}

func TestBinaryMedia(t *testing.T) {
	for _, c := range []struct {
		types []string
		ct    string
		want  bool
	}{
		{[]string{"image/png"}, "image/png", true},
		{[]string{"image/png"}, "IMAGE/PNG; q=1", true},
		{[]string{"image/*"}, "image/jpeg", true},
		{[]string{"*/*"}, "text/plain", true},
		{[]string{"image/png"}, "application/json", false},
		{nil, "image/png", false},
		{[]string{"image/png"}, "", false},
	} {
		if got := binaryMedia(c.types, c.ct); got != c.want {
			t.Errorf("%v %q = %v", c.types, c.ct, got)
		}
	}
}

// TestParseProxyResponse follows LocalStack's AWS-validated
// test_aws_proxy_response_payload_format_validation, plus the header-splitting guard.
func TestParseProxyResponse(t *testing.T) {
	for _, c := range []struct {
		in      string
		decode  bool
		status  int
		body    string
		headers string
		bad     bool
	}{
		{in: `{"statusCode":201,"body":"hi"}`, status: 201, body: "hi"},
		{in: `{"body":"x"}`, status: 200, body: "x"},
		{in: `{"headers":{"test-header":"value"}}`, status: 200, headers: "[[Test-Header value]]"},
		{in: `{"statusCode":200,"headers":{"test-header":"value","header-bool":true}}`, status: 200, headers: "[[Header-Bool true] [Test-Header value]]"},
		{in: `{"statusCode":200,"headers":null}`, status: 200},
		{in: `{"statusCode":"201"}`, status: 201},
		{in: `{"statusCode":200,"multiValueHeaders":{"test-multi":["value1","value2"]}}`, status: 200, headers: "[[Test-Multi value1] [Test-Multi value2]]"},
		{in: `{"statusCode":200,"multiValueHeaders":{"tesT-Multi":["value-multi"]},"headers":{"test-multi":"value-solo"}}`, status: 200, headers: "[[Test-Multi value-multi] [Test-Multi value-solo]]"},
		// isBase64Encoded is decoded only for a client accepting a binary media type.
		{in: `{"statusCode":200,"body":"dGVzdC1kYXRh","isBase64Encoded":true}`, status: 200, body: "dGVzdC1kYXRh"},
		{in: `{"statusCode":200,"body":"dGVzdC1kYXRh","isBase64Encoded":true}`, decode: true, status: 200, body: "test-data"},
		{in: `{"statusCode":200,"body":"***","isBase64Encoded":true}`, decode: true, bad: true},
		{in: `{"statusCode":200,"headers":{"X-Bad":"a\r\nSet-Cookie: x=1","Bad Name":"v"},"body":"ok"}`, status: 200, body: "ok"},
		{in: `{"statusCode":200,"wrongValue":"value"}`, bad: true},
		{in: `{"statusCode":200,"multiValueHeaders":{"test-multi-invalid":"value1"}}`, bad: true},
		{in: `{"statusCode":"test"}`, bad: true},
		{in: `{"statusCode":700}`, bad: true},
		{in: `"justAString"`, bad: true},
		{in: `null`, bad: true},
		{in: `not json`, bad: true},
	} {
		r, gerr := parseProxyResponse([]byte(c.in), c.decode)
		if c.bad {
			if gerr != ErrBadGateway {
				t.Errorf("%s → %+v %v, want 502", c.in, r, gerr)
			}
			continue
		}
		headers := ""
		if len(r.Headers) > 0 {
			headers = fmt.Sprint(r.Headers)
		}
		if gerr != nil || r.Status != c.status || string(r.Body) != c.body || headers != c.headers {
			t.Errorf("%s → %d %q %s %v, want %d %q %s", c.in, r.Status, r.Body, headers, gerr, c.status, c.body, c.headers)
		}
	}
}

// FuzzParseProxyResponse: any function answer maps to a valid HTTP answer or to 502.
func FuzzParseProxyResponse(f *testing.F) {
	f.Add(`{"statusCode":201,"headers":{"a":"b"},"multiValueHeaders":{"c":["d","e"]},"body":"x"}`)
	f.Add(`{"statusCode":200,"body":"aGk=","isBase64Encoded":true}`)
	f.Fuzz(func(t *testing.T, in string) {
		r, gerr := parseProxyResponse([]byte(in), true)
		if gerr != nil {
			if gerr != ErrBadGateway {
				t.Fatalf("%q → %v", in, gerr)
			}
			return
		}
		if r.Status < 100 || r.Status > 599 {
			t.Fatalf("%q → status %d", in, r.Status)
		}
		for _, h := range r.Headers {
			if strings.ContainsAny(h[0]+h[1], "\r\n") || strings.ContainsAny(h[0], ": ") {
				t.Fatalf("%q → header %q could split the response", in, h)
			}
		}
	})
}
