package security

import (
	"net/http"
	"strconv"
	"testing"
	"time"

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

// TestRetryAfterOfEveryThrottle (finding 7): the Retry-After of a 429 is the wait of the bucket
// that refused — a stage's method setting or the account throttle as much as a usage plan —
// not the plan bucket's (which had admitted the request, or was not there: "Retry-After: 1").
// A rate of one request per 1000 s says about 1000; a rate too small to ever refill says nothing.
func TestRetryAfterOfEveryThrottle(t *testing.T) {
	type want struct{ min, max int64 } // the Retry-After range; 0, 0: no header
	for _, tc := range []struct {
		name    string
		account string // --account-rate-limit, burst 1 ("": the default, never reached)
		stage   string // the stage's */* throttling rateLimit, burst 1 ("": none)
		want    want
	}{
		{name: "stage 0.001/s", stage: "0.001", want: want{990, 1000}},
		{name: "stage 1e-320/s", stage: "1e-320", want: want{0, 0}},
		{name: "account 0.001/s", account: "0.001", want: want{990, 1000}},
		{name: "account 1e-320/s", account: "1e-320", want: want{0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"--ratelimit-headers=true"}
			if tc.account != "" {
				args = append(args, "--account-rate-limit", tc.account, "--account-burst-limit", "1")
			}
			eachEngine(t, harness.Options{Args: args}, func(t *testing.T, s *harness.Server) {
				c := s.Client("us-east-1")
				ctx := harness.Ctx(t)
				api := deploy(t, c, method{Path: "/r"})
				if tc.stage != "" {
					if _, err := c.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(api.ID), StageName: aws.String(api.Stage),
						PatchOperations: []types.PatchOperation{
							{Op: types.OpReplace, Path: aws.String("/*/*/throttling/rateLimit"), Value: aws.String(tc.stage)},
							{Op: types.OpReplace, Path: aws.String("/*/*/throttling/burstLimit"), Value: aws.String("1")},
						}}); err != nil {
						t.Fatal(err)
					}
				}
				url := s.Endpoint + "/restapis/" + api.ID + "/prod/_user_request_/r"
				call := func() *http.Response {
					resp, err := http.Get(url)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					return resp
				}
				// The bucket holds one token: the first request admitted under it spends it and
				// the next is refused. Bounded in time, should the stage update take a moment
				// to reach the data plane.
				r := call()
				for end := time.Now().Add(10 * time.Second); r.StatusCode != 429 && time.Now().Before(end); {
					r = call()
				}
				if r.StatusCode != 429 {
					t.Fatalf("no 429 within 10 s: %d", r.StatusCode)
				}
				v := r.Header.Get("Retry-After")
				if tc.want.max == 0 {
					if v != "" {
						t.Errorf("Retry-After %q for a bucket that never refills", v)
					}
					return
				}
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n < tc.want.min || n > tc.want.max {
					t.Errorf("Retry-After %q, want %d..%d", v, tc.want.min, tc.want.max)
				}
			})
		})
	}
}
