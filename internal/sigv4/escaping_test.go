package sigv4

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/smithy-go/logging"
)

// The real API Gateway client, its own signing log and a server running the verifier pin down the
// double escaping: the SDK serializes a label with every reserved character escaped (':' → %3A,
// '/' → %2F, ' ' → %20), sends that on the wire, and signs it escaped once more (%3A → %253A).
// The verifier must escape the *wire* path again, not the decoded one.
func TestAPIGatewayClientDoubleEscaping(t *testing.T) {
	var mu sync.Mutex
	var canonical, wirePath, wireQuery string
	var authErr error
	v := New(Config{Credentials: map[string]string{testAK: testSecret}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, err := v.Authenticate(r, body)
		mu.Lock()
		wirePath, wireQuery, authErr = r.URL.EscapedPath(), r.URL.RawQuery, err
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "{}")
	}))
	defer srv.Close()

	client := apigateway.New(apigateway.Options{
		Region:        "us-east-1",
		BaseEndpoint:  aws.String(srv.URL),
		Credentials:   aws.NewCredentialsCache(credentialsFunc(testCreds)),
		ClientLogMode: aws.LogSigning,
		Logger: logging.LoggerFunc(func(_ logging.Classification, format string, args ...any) {
			msg := fmt.Sprintf(format, args...)
			if _, after, ok := strings.Cut(msg, "---[ CANONICAL STRING  ]-----------------------------\n"); ok {
				mu.Lock()
				canonical = after
				mu.Unlock()
			}
		}),
	})
	ctx := context.Background()
	cases := []struct {
		name                string
		call                func() error
		wirePath, wireQuery string
		canonicalURI        string
		canonicalQuery      string
	}{
		{"TagResource ARN with ':' and '/'", func() error {
			_, err := client.TagResource(ctx, &apigateway.TagResourceInput{
				ResourceArn: aws.String("arn:aws:apigateway:us-east-1::/restapis/abc"), Tags: map[string]string{"k": "v"}})
			return err
		}, "/tags/arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Frestapis%2Fabc", "",
			"/tags/arn%253Aaws%253Aapigateway%253Aus-east-1%253A%253A%252Frestapis%252Fabc", ""},
		{"UntagResource with query", func() error {
			_, err := client.UntagResource(ctx, &apigateway.UntagResourceInput{
				ResourceArn: aws.String("arn:aws:apigateway:us-east-1::/restapis/abc/stages/prod"),
				TagKeys:     []string{"a b", "a/b", "a-b"}})
			return err
		}, "/tags/arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Frestapis%2Fabc%2Fstages%2Fprod", "tagKeys=a%20b&tagKeys=a%2Fb&tagKeys=a-b",
			"/tags/arn%253Aaws%253Aapigateway%253Aus-east-1%253A%253A%252Frestapis%252Fabc%252Fstages%252Fprod",
			"tagKeys=a%20b&tagKeys=a%2Fb&tagKeys=a-b"},
		{"GetRestApi id with space and colon", func() error {
			_, err := client.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: aws.String("a b:c")})
			return err
		}, "/restapis/a%20b%3Ac", "", "/restapis/a%2520b%253Ac", ""},
		{"GetStage name with slash and percent", func() error {
			_, err := client.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String("abc"), StageName: aws.String("x/y%z")})
			return err
		}, "/restapis/abc/stages/x%2Fy%25z", "", "/restapis/abc/stages/x%252Fy%2525z", ""},
		{"GetApiKeys query with '+' and space", func() error {
			_, err := client.GetApiKeys(ctx, &apigateway.GetApiKeysInput{NameQuery: aws.String("a+b c"), IncludeValues: aws.Bool(true)})
			return err
		}, "/apikeys", "includeValues=true&name=a%2Bb%20c", "/apikeys", "includeValues=true&name=a%2Bb%20c"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err != nil {
				t.Fatalf("client call: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if authErr != nil {
				t.Fatalf("Authenticate: %v", authErr)
			}
			if wirePath != tc.wirePath || wireQuery != tc.wireQuery {
				t.Fatalf("wire = %s?%s, want %s?%s", wirePath, wireQuery, tc.wirePath, tc.wireQuery)
			}
			lines := strings.SplitN(canonical, "\n", 4)
			if len(lines) < 3 || lines[1] != tc.canonicalURI || lines[2] != tc.canonicalQuery {
				t.Fatalf("SDK canonical request starts %q, want URI %q query %q", lines, tc.canonicalURI, tc.canonicalQuery)
			}
		})
	}
}

type credentialsFunc aws.Credentials

func (c credentialsFunc) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials(c), nil
}

// Units of the escaping itself.
func TestCanonicalURIEscaping(t *testing.T) {
	cases := []struct{ wire, canonical string }{
		{"/", "/"},
		{"/restapis", "/restapis"},
		{"/tags/arn%3Aaws%3A%2Fx", "/tags/arn%253Aaws%253A%252Fx"},
		{"/a%20b", "/a%2520b"},
		{"/a b", "/a%20b"}, // a raw space (not from an SDK) is escaped once, like any byte
		{"/x:y@z", "/x%3Ay%40z"},
		{"/~-._", "/~-._"},
		{"/%E2%82%AC", "/%25E2%2582%25AC"},
		{"/a+b", "/a%2Bb"},
	}
	for _, tc := range cases {
		if got := string(appendEscaped(nil, tc.wire, true)); got != tc.canonical {
			t.Errorf("escape(%q) = %q, want %q", tc.wire, got, tc.canonical)
		}
	}
}

func TestNormalizePath(t *testing.T) {
	cases := []struct{ in, want string }{
		{"/", "/"}, {"//", "/"}, {"/a//b/", "/a/b/"}, {"/a/./b", "/a/b"}, {"/a/b/../..", "/"},
		{"/a/../../b", "/b"}, {"/a/b", "/a/b"}, {"/a.b/.c", "/a.b/.c"},
	}
	for _, tc := range cases {
		if got := normalizePath(tc.in); got != tc.want {
			t.Errorf("normalizePath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// The verifier reads the escaped path from RequestURI on server requests, so a path Go would
// re-encode differently (EscapedPath) still verifies as the client sent and signed it.
func TestRequestPath(t *testing.T) {
	// A raw '{' makes Go drop RawPath and re-encode the decoded path, turning %3A back into ':'.
	req := httptest.NewRequest("GET", "/restapis/a{b}%3Ac?x=1", nil)
	if got := requestPath(req); got != "/restapis/a{b}%3Ac" {
		t.Fatalf("requestPath = %q", got)
	}
	if req.URL.EscapedPath() == "/restapis/a{b}%3Ac" {
		t.Fatal("EscapedPath no longer re-encodes; this test lost its point")
	}
	client := newRequest(t, "GET", "http://h/x%2Fy", nil)
	if got := requestPath(client); got != "/x%2Fy" {
		t.Fatalf("requestPath(client) = %q", got)
	}
}
