package security

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/tollgate/tollgate/test/harness"
)

// TestRetryAfterIsTruthful (finding 7): a 429's Retry-After says how long the bucket really needs
// — a rate of one request per 1000 s says about 1000, never 1 — and a bucket that never refills
// (a rate too small to count, like 1e-320) sends none rather than inviting a retry in a second.
func TestRetryAfterIsTruthful(t *testing.T) {
	eachEngine(t, harness.Options{Args: []string{"--ratelimit-headers=true"}}, func(t *testing.T, s *harness.Server) {
		c := s.Client("us-east-1")
		ctx := harness.Ctx(t)
		for _, tc := range []struct {
			rate     float64
			min, max int64 // the Retry-After range; 0, 0: no header
		}{
			{0.001, 990, 1000},
			{1e-320, 0, 0},
		} {
			api := deploy(t, c, method{Path: "/r", KeyRequired: true})
			p, err := c.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("slow"),
				Throttle:  &types.ThrottleSettings{RateLimit: tc.rate, BurstLimit: 1},
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
			url := s.Endpoint + "/restapis/" + api.ID + "/prod/_user_request_/r"
			call := func() *http.Response {
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("x-api-key", *k.Value)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp
			}
			if r := call(); r.StatusCode != 200 {
				t.Fatalf("rate %g: first request %d", tc.rate, r.StatusCode)
			}
			r := call()
			if r.StatusCode != 429 {
				t.Fatalf("rate %g: second request %d, want 429", tc.rate, r.StatusCode)
			}
			v := r.Header.Get("Retry-After")
			if tc.max == 0 {
				if v != "" {
					t.Errorf("rate %g: Retry-After %q for a bucket that never refills", tc.rate, v)
				}
				continue
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < tc.min || n > tc.max {
				t.Errorf("rate %g: Retry-After %q, want %d..%d", tc.rate, v, tc.min, tc.max)
			}
		}
	})
}
