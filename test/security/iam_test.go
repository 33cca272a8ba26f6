package security

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/tollgate/tollgate/test/harness"
)

// invoke sends method path (after the stage) with body to the API through the path form,
// SigV4-signed for execute-api with (id, secret) in region unless id is "", with an optional
// x-api-key, and with sendBody instead of body on the wire when it is not nil (a swapped body).
type invocation struct {
	method, path, body string
	id, secret, region string
	key                string
	sendBody           *string
}

func invokeAPI(t *testing.T, s *harness.Server, api testAPI, in invocation) (int, string, string) {
	t.Helper()
	url := s.Endpoint + "/restapis/" + api.ID + "/" + api.Stage + "/_user_request_" + in.path
	req, err := http.NewRequest(in.method, url, strings.NewReader(in.body))
	if err != nil {
		t.Fatal(err)
	}
	if in.key != "" {
		req.Header.Set("x-api-key", in.key)
	}
	if in.id != "" {
		region := in.region
		if region == "" {
			region = "us-east-1"
		}
		sum := sha256.Sum256([]byte(in.body))
		creds := aws.Credentials{AccessKeyID: in.id, SecretAccessKey: in.secret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "execute-api", region, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if in.sendBody != nil {
		req.Body = io.NopCloser(strings.NewReader(*in.sendBody))
		req.ContentLength = int64(len(*in.sendBody))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), string(b)
}

const msgMismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

// TestAWSIAMEnforced (finding 2): an AWS_IAM method answers only requests signed for execute-api
// with invoke credentials, with AWS's SigV4 errors otherwise; with apiKeyRequired both apply.
func TestAWSIAMEnforced(t *testing.T) {
	eachEngine(t, harness.Options{}, func(t *testing.T, s *harness.Server) {
		c := s.Client("us-east-1")
		b := newBackend(t, nil)
		api := deploy(t, c,
			method{Path: "/iam", Auth: "AWS_IAM"},
			method{Path: "/iam", Verb: "POST", Auth: "AWS_IAM", Integration: httpProxy(b.URL + "/iam")},
			method{Path: "/both", Auth: "AWS_IAM", KeyRequired: true},
		)
		key := planKey(t, c, api)
		swapped := `{"amount":1000000}`
		tests := []struct {
			name   string
			in     invocation
			status int
			typ    string
			body   string
		}{
			{"unsigned", invocation{method: "GET", path: "/iam"}, 403, "MissingAuthenticationTokenException", `{"message":"Missing Authentication Token"}`},
			{"signed", invocation{method: "GET", path: "/iam", id: "test", secret: "test"}, 200, "", `{"mock":"/iam"}`},
			{"signed POST to a backend", invocation{method: "POST", path: "/iam", body: `{"amount":1}`, id: "test", secret: "test"}, 200, "", "backend:/iam"},
			{"wrong secret", invocation{method: "GET", path: "/iam", id: "test", secret: "nope"}, 403, "InvalidSignatureException", `{"message":"` + msgMismatch + `"}`},
			{"unknown access key", invocation{method: "GET", path: "/iam", id: "AKIDNOBODY", secret: "test"}, 403, "UnrecognizedClientException", `{"message":"The security token included in the request is invalid."}`},
			{"other region", invocation{method: "GET", path: "/iam", id: "test", secret: "test", region: "eu-west-1"}, 403, "InvalidSignatureException", `{"message":"Credential should be scoped to a valid region, not 'eu-west-1'. "}`},
			{"body swapped after signing", invocation{method: "POST", path: "/iam", body: `{"amount":1}`, id: "test", secret: "test", sendBody: &swapped}, 403, "InvalidSignatureException", `{"message":"` + msgMismatch + `"}`},
			{"IAM and key: signed, no key", invocation{method: "GET", path: "/both", id: "test", secret: "test"}, 403, "ForbiddenException", `{"message":"Forbidden"}`},
			{"IAM and key: key, unsigned", invocation{method: "GET", path: "/both", key: key}, 403, "MissingAuthenticationTokenException", `{"message":"Missing Authentication Token"}`},
			{"IAM and key: both", invocation{method: "GET", path: "/both", id: "test", secret: "test", key: key}, 200, "", `{"mock":"/both"}`},
		}
		for _, tc := range tests {
			status, typ, body := invokeAPI(t, s, api, tc.in)
			if status != tc.status || typ != tc.typ || body != tc.body {
				t.Errorf("%s: %d %s %s; want %d %s %s", tc.name, status, typ, body, tc.status, tc.typ, tc.body)
			}
		}
		for _, r := range b.Requests() {
			if r.Header.Get("X-Amz-Content-Sha256") == "" && r.ContentLength != int64(len(`{"amount":1}`)) {
				t.Errorf("the backend got a body of %d bytes", r.ContentLength)
			}
		}
		if n := len(b.Requests()); n != 1 {
			t.Errorf("the backend was called %d times, want once (the signed POST)", n)
		}
	})
}

// planKey creates a usage plan on the API's stage and a key in it; it returns the key's value.
func planKey(t *testing.T, c *apigateway.Client, api testAPI) string {
	t.Helper()
	ctx := harness.Ctx(t)
	p, err := c.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("p"),
		ApiStages: []types.ApiStage{{ApiId: aws.String(api.ID), Stage: aws.String(api.Stage)}}})
	if err != nil {
		t.Fatal(err)
	}
	k, err := c.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("k"), Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateUsagePlanKey(ctx, &apigateway.CreateUsagePlanKeyInput{UsagePlanId: p.Id, KeyId: k.Id, KeyType: aws.String("API_KEY")}); err != nil {
		t.Fatal(err)
	}
	return *k.Value
}

// TestCredentialsFile (finding 2): pairs marked for management sign only management calls, pairs
// marked invoke only AWS_IAM invocations, and SIGHUP swaps the set without a restart.
func TestCredentialsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	initial := func() {
		write(`[admin]
aws_access_key_id = AKIDMGMT
aws_secret_access_key = mgmt-secret
tollgate_use = management

[client]
aws_access_key_id = AKIDINV
aws_secret_access_key = inv-secret
tollgate_use = invoke
`)
	}
	initial()
	eachEngine(t, harness.Options{Args: []string{"--credentials-file", path}}, func(t *testing.T, s *harness.Server) {
		defer initial() // the next engine starts from the first file
		admin := s.Client("us-east-1", "AKIDMGMT", "mgmt-secret")
		api := deploy(t, admin, method{Path: "/iam", Auth: "AWS_IAM"})
		get := func(id, secret string) (int, string) {
			status, typ, _ := invokeAPI(t, s, api, invocation{method: "GET", path: "/iam", id: id, secret: secret})
			return status, typ
		}
		if st, typ := get("AKIDINV", "inv-secret"); st != 200 {
			t.Fatalf("invoke pair: %d %s", st, typ)
		}
		if st, typ := get("AKIDMGMT", "mgmt-secret"); st != 403 || typ != "UnrecognizedClientException" {
			t.Fatalf("management pair on invoke: %d %s", st, typ)
		}
		if st, typ := get("test", "test"); st != 403 || typ != "UnrecognizedClientException" {
			t.Fatalf("the loopback default must be off with a credentials file: %d %s", st, typ)
		}
		_, err := s.Client("us-east-1", "AKIDINV", "inv-secret").GetApiKeys(harness.Ctx(t), &apigateway.GetApiKeysInput{})
		if err == nil || !strings.Contains(err.Error(), "UnrecognizedClientException") {
			t.Fatalf("invoke pair on management: %v", err)
		}
		write(`[admin]
aws_access_key_id = AKIDMGMT
aws_secret_access_key = mgmt-secret
tollgate_use = management

[rotated]
aws_access_key_id = AKIDNEW
aws_secret_access_key = new-secret
tollgate_use = invoke, management
`)
		reloaded := strings.Count(s.Log(), "credentials reloaded")
		if err := s.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(s.Log(), "credentials reloaded") == reloaded {
			if time.Now().After(deadline) {
				t.Fatal("no reload logged after SIGHUP")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if st, typ := get("AKIDNEW", "new-secret"); st != 200 {
			t.Fatalf("added pair after SIGHUP: %d %s", st, typ)
		}
		if st, _ := get("AKIDINV", "inv-secret"); st != 403 {
			t.Fatalf("removed pair still invokes: %d", st)
		}
		// A broken file keeps the pairs in force.
		write("[broken\n")
		_ = s.Signal(syscall.SIGHUP)
		deadline = time.Now().Add(10 * time.Second)
		for !strings.Contains(s.Log(), "credentials not reloaded") {
			if time.Now().After(deadline) {
				t.Fatal("no failed reload logged")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if st, _ := get("AKIDNEW", "new-secret"); st != 200 {
			t.Fatalf("a broken reload dropped the pairs in force: %d", st)
		}
		for _, secret := range []string{"mgmt-secret", "inv-secret", "new-secret"} {
			if strings.Contains(s.Log(), secret) {
				t.Fatalf("a secret reached the log")
			}
		}
	})
}

// TestUnsignedPayloadRefused (finding 7): a management request signed with UNSIGNED-PAYLOAD could
// have its body swapped; it is refused like any signature over another body.
func TestUnsignedPayloadRefused(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	for _, sent := range []string{`{"name":"signed","enabled":true}`, `{"name":"swapped","enabled":true}`} {
		req, err := http.NewRequest("POST", s.Endpoint+"/apikeys", strings.NewReader(sent))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"},
			req, "UNSIGNED-PAYLOAD", "apigateway", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 403 || resp.Header.Get("X-Amzn-Errortype") != "InvalidSignatureException" {
			t.Errorf("UNSIGNED-PAYLOAD with body %s: %d %s %s", sent, resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), b)
		}
	}
	keys, err := s.Client("us-east-1").GetApiKeys(harness.Ctx(t), &apigateway.GetApiKeysInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys.Items) != 0 {
		t.Fatalf("%d keys were created", len(keys.Items))
	}
}

// TestUnreachableAPIs (finding 2, every setting enforced): an API with disableExecuteApiEndpoint,
// or a PRIVATE one (on AWS reachable only through a VPC endpoint), answers 403 Forbidden to every
// invocation; a resource policy, which Tollgate does not evaluate, is refused when written.
func TestUnreachableAPIs(t *testing.T) {
	eachEngine(t, harness.Options{}, func(t *testing.T, s *harness.Server) {
		c := s.Client("us-east-1")
		ctx := harness.Ctx(t)
		open := deploy(t, c, method{Path: "/x"})
		if st, _, _ := invokeAPI(t, s, open, invocation{method: "GET", path: "/x"}); st != 200 {
			t.Fatalf("open API: %d", st)
		}
		for _, op := range []types.PatchOperation{
			{Op: types.OpReplace, Path: aws.String("/disableExecuteApiEndpoint"), Value: aws.String("true")},
			{Op: types.OpReplace, Path: aws.String("/endpointConfiguration/types/EDGE"), Value: aws.String("PRIVATE")},
		} {
			api := deploy(t, c, method{Path: "/x"})
			if _, err := c.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{RestApiId: aws.String(api.ID), PatchOperations: []types.PatchOperation{op}}); err != nil {
				t.Fatal(err)
			}
			if st, typ, body := invokeAPI(t, s, api, invocation{method: "GET", path: "/x"}); st != 403 || typ != "ForbiddenException" {
				t.Errorf("%s: %d %s %s, want 403 Forbidden", *op.Path, st, typ, body)
			}
		}
		_, err := c.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{RestApiId: aws.String(open.ID), PatchOperations: []types.PatchOperation{
			{Op: types.OpReplace, Path: aws.String("/policy"), Value: aws.String(`{"Version":"2012-10-17","Statement":[]}`)}}})
		if err == nil || !strings.Contains(err.Error(), "Resource policies are not supported") {
			t.Fatalf("a resource policy was accepted: %v", err)
		}
	})
}
