package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/tollgate/tollgate/test/harness"
)

func postReset(t *testing.T, endpoint string) (int, string) {
	t.Helper()
	resp, err := http.Post(endpoint+"/_tollgate/reset", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAllowReset: with --allow-reset, an unsigned POST /_tollgate/reset from loopback wipes
// every API, key, plan and usage row on SQLite and on PostgreSQL; the old key stops working at
// once, and a plan made after the reset reports only its own usage. Without the flag the path is
// refused and nothing changes.
func TestAllowReset(t *testing.T) {
	for _, storeKind := range []string{"sqlite", "postgres"} {
		t.Run(storeKind, func(t *testing.T) {
			args := []string{"--allow-reset"}
			var env []string
			if storeKind == "postgres" {
				args = append(args, "--store", postgresDSN(t))
				env = append(env, masterKeyEnv(t))
			}
			s := &server{harness.Start(t, harness.Options{Args: args, Env: env})}
			c := s.client("us-east-1")
			g := buildGatewayAPI(t, c, "prod")
			plan, _, key := planWithKey(t, c, g, apigateway.CreateUsagePlanInput{Quota: &types.QuotaSettings{Limit: 100, Period: types.QuotaPeriodTypeDay}})
			for i := 0; i < 3; i++ {
				if code, _, _ := call(t, s, g, "GET", "/items/a", key); code != 200 {
					t.Fatalf("before reset: %d", code)
				}
			}
			if code, body := postReset(t, s.Endpoint); code != 200 || body != `{"reset":true}` {
				t.Fatalf("reset = %d %s", code, body)
			}
			if code, _, _ := call(t, s, g, "GET", "/items/a", key); code == 200 {
				t.Error("the old key still works after the reset")
			}
			keys, _ := c.GetApiKeys(ctx(t), &apigateway.GetApiKeysInput{})
			plans, _ := c.GetUsagePlans(ctx(t), &apigateway.GetUsagePlansInput{})
			apis, _ := c.GetRestApis(ctx(t), &apigateway.GetRestApisInput{})
			if len(keys.Items)+len(plans.Items)+len(apis.Items) != 0 {
				t.Errorf("after reset: %d keys, %d plans, %d APIs", len(keys.Items), len(plans.Items), len(apis.Items))
			}
			if _, err := c.GetUsagePlan(ctx(t), &apigateway.GetUsagePlanInput{UsagePlanId: aws.String(plan)}); err == nil {
				t.Error("the old plan is still there")
			}
			// A fresh start works and counts from zero.
			g2 := buildGatewayAPI(t, c, "prod")
			plan2, keyID2, key2 := planWithKey(t, c, g2, apigateway.CreateUsagePlanInput{Quota: &types.QuotaSettings{Limit: 100, Period: types.QuotaPeriodTypeDay}})
			if code, _, _ := call(t, s, g2, "GET", "/items/a", key2); code != 200 {
				t.Fatalf("after reset, new key: %d", code)
			}
			today := time.Now().UTC().Format("2006-01-02")
			u, err := c.GetUsage(ctx(t), &apigateway.GetUsageInput{UsagePlanId: aws.String(plan2), StartDate: aws.String(today), EndDate: aws.String(today)})
			if err != nil {
				t.Fatal(err)
			}
			if len(u.Items) != 1 || u.Items[keyID2][0][0] != 1 {
				t.Errorf("usage after reset: %v", u.Items)
			}
			if !strings.Contains(s.Log(), "operation=Reset") {
				t.Error("no audit record of the reset")
			}
		})
	}
	t.Run("off by default", func(t *testing.T) {
		s := startServer(t, "")
		c := s.client("us-east-1")
		if _, err := c.CreateApiKey(ctx(t), &apigateway.CreateApiKeyInput{Name: aws.String("stays")}); err != nil {
			t.Fatal(err)
		}
		if code, _ := postReset(t, s.Endpoint); code != 403 {
			t.Errorf("reset without --allow-reset = %d, want 403", code)
		}
		if keys, _ := c.GetApiKeys(ctx(t), &apigateway.GetApiKeysInput{}); len(keys.Items) != 1 {
			t.Errorf("keys after a refused reset: %d", len(keys.Items))
		}
	})
}
