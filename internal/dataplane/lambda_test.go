package dataplane

import (
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

func TestParseProxyResponse(t *testing.T) {
	for _, c := range []struct {
		in     string
		status int
		body   string
		bad    bool
	}{
		{`{"statusCode":201,"body":"hi"}`, 201, "hi", false},
		{`{"statusCode":200,"headers":{"X-Bad":"a\r\nSet-Cookie: x=1","Bad Name":"v"},"body":"ok"}`, 200, "ok", false},
		{`{"body":"x"}`, 200, "x", false},
		{`{"statusCode":200,"body":"aGk=","isBase64Encoded":true}`, 200, "hi", false},
		{`{"statusCode":200,"body":"***","isBase64Encoded":true}`, 0, "", true},
		{`{"statusCode":700}`, 0, "", true},
		{`{"statusCode":"200"}`, 0, "", true},
		{`not json`, 0, "", true},
		{`[1]`, 0, "", true},
	} {
		r, gerr := parseProxyResponse([]byte(c.in))
		if (gerr != nil) != c.bad || !c.bad && (r.Status != c.status || string(r.Body) != c.body) {
			t.Errorf("%s → %+v %v", c.in, r, gerr)
		}
		if !c.bad && len(r.Headers) != 0 && strings.Contains(c.in, "X-Bad") {
			t.Errorf("%s kept a splitting header: %q", c.in, r.Headers)
		}
		if c.bad && gerr != ErrBadGateway {
			t.Errorf("%s → %v, want 502", c.in, gerr)
		}
	}
}

// FuzzParseProxyResponse: any function answer maps to a valid HTTP answer or to 502.
func FuzzParseProxyResponse(f *testing.F) {
	f.Add(`{"statusCode":201,"headers":{"a":"b"},"multiValueHeaders":{"c":["d","e"]},"body":"x"}`)
	f.Add(`{"statusCode":200,"body":"aGk=","isBase64Encoded":true}`)
	f.Fuzz(func(t *testing.T, in string) {
		r, gerr := parseProxyResponse([]byte(in))
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
