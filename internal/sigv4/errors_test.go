package sigv4

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/tollgate/tollgate/internal/apigw"
)

const (
	goodCred  = "AKIDEXAMPLE/20260314/us-east-1/apigateway/aws4_request"
	goodSig   = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	jwtHeader = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI5ZDQzNmM5MiJ9.4f1JhoEZYj16T9Cfe_8-qoCaxb2gYeS7ImBNZpULIoY"
)

// signedBy returns GET /restapis signed by the SDK with the given key, service, region and time.
func signedBy(t *testing.T, ak, secret, service, region string, at time.Time) *http.Request {
	req := newRequest(t, "GET", "http://"+testHost+"/restapis", nil)
	sdkSign(t, req, nil, aws.Credentials{AccessKeyID: ak, SecretAccessKey: secret}, service, region, at)
	return req
}

func signedAt(t *testing.T, at time.Time) *http.Request {
	return signedBy(t, testAK, testSecret, "apigateway", "us-east-1", at)
}

// withAuth returns an unsigned request carrying the given Authorization header (and X-Amz-Date
// of testNow when date is true).
func withAuth(t *testing.T, header string, date bool) *http.Request {
	req := newRequest(t, "GET", "http://"+testHost+"/restapis", nil)
	req.Header.Set("Authorization", header)
	if date {
		req.Header.Set("X-Amz-Date", "20260314T120000Z")
	}
	return req
}

func editAuth(req *http.Request, old, new string) *http.Request {
	req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), old, new, 1))
	return req
}

// Every failure kind with AWS's exact text (rest-api-resources.md §9), and the check order:
// missing → parse → credential scope → access key → clock → signature.
func TestErrors(t *testing.T) {
	onlyUSEast1 := func(c *Config) { c.Regions = func(r string) bool { return r == "us-east-1" } }
	const (
		miss = apigw.KindMissingAuthenticationToken
		inc  = apigw.KindIncompleteSignature
		unr  = apigw.KindUnrecognizedClient
		inv  = apigw.KindInvalidSignature
	)
	header := func(cred, signed, sig string) string {
		return "AWS4-HMAC-SHA256 Credential=" + cred + ", SignedHeaders=" + signed + ", Signature=" + sig
	}
	cases := []struct {
		name string
		req  func(t *testing.T) *http.Request
		opts []func(*Config)
		kind apigw.Kind
		msg  string
	}{
		{"no authorization", func(t *testing.T) *http.Request {
			return newRequest(t, "GET", "http://"+testHost+"/restapis", nil)
		}, nil, miss, "Missing Authentication Token"},
		{"empty authorization", func(t *testing.T) *http.Request { return withAuth(t, " ", true) },
			nil, miss, "Missing Authentication Token"},
		{"presign parameters without X-Amz-Algorithm", func(t *testing.T) *http.Request {
			return newRequest(t, "GET", "http://"+testHost+"/restapis?X-Amz-Signature="+goodSig, nil)
		}, nil, miss, "Missing Authentication Token"},
		{"Bearer token", func(t *testing.T) *http.Request { return withAuth(t, "Bearer x", true) },
			nil, inc, "'x' not a valid key=value pair (missing equal-sign) in Authorization header: 'Bearer x'."},
		{"bare JWT without date", func(t *testing.T) *http.Request { return withAuth(t, jwtHeader, false) },
			nil, inc, "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a " +
				"'X-Amz-Date' or a 'Date' header. Authorization=" + jwtHeader},
		{"Basic with base64 padding", func(t *testing.T) *http.Request { return withAuth(t, "Basic dXNlcjpwYXNz==", true) },
			nil, inc, "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter. Authorization=Basic dXNlcjpwYXNz=="},
		{"Bearer key=value without date", func(t *testing.T) *http.Request { return withAuth(t, "Bearer a=b", false) },
			nil, inc, "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a " +
				"'X-Amz-Date' or a 'Date' header. Authorization=Bearer a=b"},
		{"algorithm with equal sign", func(t *testing.T) *http.Request { return withAuth(t, "x-api-key=abc", true) },
			nil, inc, "Authorization header must begin with the algorithm name, which cannot include an equal-sign"},
		{"space inside Credential=", func(t *testing.T) *http.Request {
			return withAuth(t, header(" "+goodCred, "host;x-amz-date", goodSig), true)
		}, nil, inc, "'" + goodCred + "' not a valid key=value pair (missing equal-sign) in Authorization header: '" +
			header(" "+goodCred, "host;x-amz-date", goodSig) + "'."},
		{"missing Signature", func(t *testing.T) *http.Request {
			return withAuth(t, "AWS4-HMAC-SHA256 Credential="+goodCred+", SignedHeaders=host;x-amz-date", true)
		}, nil, inc, "Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 Credential=" +
			goodCred + ", SignedHeaders=host;x-amz-date"},
		{"empty Credential", func(t *testing.T) *http.Request {
			return withAuth(t, header("", "host", goodSig), true)
		}, nil, inc, "Authorization header requires 'Credential' parameter. Authorization=" + header("", "host", goodSig)},
		{"bad X-Amz-Date", func(t *testing.T) *http.Request {
			req := signedAt(t, testNow)
			req.Header.Set("X-Amz-Date", "201")
			return req
		}, nil, inc, "Date must be in ISO-8601 'basic format'. Got '201'. See http://en.wikipedia.org/wiki/ISO_8601"},
		{"bad Date header", func(t *testing.T) *http.Request {
			req := withAuth(t, header(goodCred, "date;host", goodSig), false)
			req.Header.Set("Date", "yesterday")
			return req
		}, nil, inc, "Date must be in ISO-8601 'basic format'. Got 'yesterday'. See http://en.wikipedia.org/wiki/ISO_8601"},
		{"host not signed", func(t *testing.T) *http.Request {
			return editAuth(signedAt(t, testNow), "SignedHeaders=host;", "SignedHeaders=")
		}, nil, inv, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."},
		{"empty SignedHeaders", func(t *testing.T) *http.Request {
			return withAuth(t, header(goodCred, "", goodSig), true)
		}, nil, inv, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."},
		{"unsupported algorithm", func(t *testing.T) *http.Request {
			return editAuth(signedAt(t, testNow), "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512")
		}, nil, inc, "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). "},
		{"credential with four elements", func(t *testing.T) *http.Request {
			return withAuth(t, header("a/b/c/d", "host", goodSig), true)
		}, nil, inc, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'a/b/c/d'"},
		{"access key with a slash", func(t *testing.T) *http.Request {
			return withAuth(t, header("AK/ID/20260314/us-east-1/apigateway/aws4_request", "host", goodSig), true)
		}, nil, inc, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, " +
			"got 'AK/ID/20260314/us-east-1/apigateway/aws4_request'"},
		{"wrong service", func(t *testing.T) *http.Request {
			return signedBy(t, testAK, testSecret, "execute-api", "us-east-1", testNow)
		}, nil, inv, "Credential should be scoped to correct service: 'apigateway'. "},
		{"region not configured", func(t *testing.T) *http.Request {
			return signedBy(t, testAK, testSecret, "apigateway", "mars-north-1", testNow)
		}, []func(*Config){onlyUSEast1}, inv, "Credential should be scoped to a valid region, not 'mars-north-1'. "},
		{"ill-formed region", func(t *testing.T) *http.Request {
			return signedBy(t, testAK, testSecret, "apigateway", "US_EAST", testNow)
		}, nil, inv, "Credential should be scoped to a valid region, not 'US_EAST'. "},
		{"region and service", func(t *testing.T) *http.Request {
			return signedBy(t, testAK, testSecret, "execute-api", "eu-west-1", testNow)
		}, []func(*Config){onlyUSEast1}, inv, "Credential should be scoped to a valid region, not 'eu-west-1'. " +
			"Credential should be scoped to correct service: 'apigateway'. "},
		{"terminator and scope date", func(t *testing.T) *http.Request {
			return withAuth(t, header("AKIDEXAMPLE/20260313/us-east-1/apigateway/aws5_request", "host", goodSig), true)
		}, nil, inv, "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. " +
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: " +
			"'20260313' != '20260314', from '20260314T120000Z'."},
		{"unknown access key", func(t *testing.T) *http.Request {
			return signedBy(t, "AKIDUNKNOWN", testSecret, "apigateway", "us-east-1", testNow)
		}, nil, unr, "The security token included in the request is invalid."},
		{"expired", func(t *testing.T) *http.Request { return signedAt(t, testNow.Add(-6*time.Minute)) },
			nil, inv, "Signature expired: 20260314T115400Z is now earlier than 20260314T115500Z (20260314T120000Z - 5 min.)"},
		{"not yet current", func(t *testing.T) *http.Request { return signedAt(t, testNow.Add(6*time.Minute)) },
			nil, inv, "Signature not yet current: 20260314T120600Z is still later than 20260314T120500Z (20260314T120000Z + 5 min.)"},
		{"expired, 15 minute window", func(t *testing.T) *http.Request { return signedAt(t, testNow.Add(-20*time.Minute)) },
			[]func(*Config){func(c *Config) { c.MaxSkew = 15 * time.Minute }}, inv,
			"Signature expired: 20260314T114000Z is now earlier than 20260314T114500Z (20260314T120000Z - 15 min.)"},
		{"expired, 90 second window", func(t *testing.T) *http.Request { return signedAt(t, testNow.Add(-2*time.Minute)) },
			[]func(*Config){func(c *Config) { c.MaxSkew = 90 * time.Second }}, inv,
			"Signature expired: 20260314T115800Z is now earlier than 20260314T115830Z (20260314T120000Z - 90 sec.)"},
		{"header and query forms", func(t *testing.T) *http.Request {
			req := signedAt(t, testNow)
			req.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256"
			return req
		}, nil, inv, "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."},
		{"signature mismatch", func(t *testing.T) *http.Request {
			return signedBy(t, testAK, "wrong", "apigateway", "us-east-1", testNow)
		}, nil, inv, msgSignatureMismatch},
		{"malformed signature", func(t *testing.T) *http.Request {
			return withAuth(t, header(goodCred, "host;x-amz-date", "abc"), true)
		}, nil, inv, msgSignatureMismatch},

		// Check order.
		{"order: parse before scope", func(t *testing.T) *http.Request {
			return withAuth(t, "AWS4-HMAC-SHA256 Credential=AKIDUNKNOWN/20260314/us-east-1/execute-api/aws4_request, SignedHeaders=host", true)
		}, nil, inc, "Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 " +
			"Credential=AKIDUNKNOWN/20260314/us-east-1/execute-api/aws4_request, SignedHeaders=host"},
		{"order: scope before access key", func(t *testing.T) *http.Request {
			return signedBy(t, "AKIDUNKNOWN", testSecret, "execute-api", "us-east-1", testNow)
		}, nil, inv, "Credential should be scoped to correct service: 'apigateway'. "},
		{"order: access key before clock", func(t *testing.T) *http.Request {
			return signedBy(t, "AKIDUNKNOWN", testSecret, "apigateway", "us-east-1", testNow.Add(-time.Hour))
		}, nil, unr, "The security token included in the request is invalid."},
		{"order: clock before signature", func(t *testing.T) *http.Request {
			return signedBy(t, testAK, "wrong", "apigateway", "us-east-1", testNow.Add(time.Hour))
		}, nil, inv, "Signature not yet current: 20260314T130000Z is still later than 20260314T120500Z (20260314T120000Z + 5 min.)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			region, err := newVerifier(tc.opts...).Authenticate(tc.req(t), nil)
			if region != "" {
				t.Errorf("region = %q on failure", region)
			}
			wantError(t, err, tc.kind, tc.msg)
		})
	}
}

// Requests at the edges of what AWS accepts.
func TestAccepted(t *testing.T) {
	cases := []struct {
		name string
		req  func(t *testing.T) *http.Request
	}{
		{"exactly 5 minutes old", func(t *testing.T) *http.Request { return signedAt(t, testNow.Add(-5*time.Minute)) }},
		{"exactly 5 minutes ahead", func(t *testing.T) *http.Request { return signedAt(t, testNow.Add(5*time.Minute)) }},
		{"trailing slash after the terminator", func(t *testing.T) *http.Request {
			return editAuth(signedAt(t, testNow), "/aws4_request,", "/aws4_request/,")
		}},
		{"components separated by commas only", func(t *testing.T) *http.Request {
			return editAuth(editAuth(signedAt(t, testNow), ", SignedHeaders", ",SignedHeaders"), ", Signature", ",Signature")
		}},
		{"second known key", func(t *testing.T) *http.Request {
			return signedBy(t, "AKIDOTHER", "other-secret", "apigateway", "us-east-1", testNow)
		}},
		{"session token", func(t *testing.T) *http.Request {
			req := newRequest(t, "GET", "http://"+testHost+"/restapis", nil)
			sdkSign(t, req, nil, aws.Credentials{AccessKeyID: testAK, SecretAccessKey: testSecret, SessionToken: "tok"},
				"apigateway", "us-east-1", testNow)
			if !strings.Contains(req.Header.Get("Authorization"), "x-amz-security-token") {
				t.Fatal("the SDK did not sign the session token")
			}
			return req
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if region, err := newVerifier().Authenticate(tc.req(t), nil); err != nil || region != "us-east-1" {
				t.Fatalf("region %q err %v", region, err)
			}
		})
	}
}

func TestWellFormedRegion(t *testing.T) {
	for r, want := range map[string]bool{
		"us-east-1": true, "us-gov-west-1": true, "eusc-de-east-1": true, "cn-north-1": true, "local": true,
		"": false, "US-EAST-1": false, "us--east-1": false, "us-east-": false, "-us": false, "1us": false,
		"us_east_1": false, "us-east-1/x": false, strings.Repeat("a", 33): false,
	} {
		if got := wellFormedRegion(r); got != want {
			t.Errorf("wellFormedRegion(%q) = %v, want %v", r, got, want)
		}
	}
}
