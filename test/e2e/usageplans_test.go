package e2e

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// deployedAPI creates a REST API with GET /test (MOCK, API key required) and GET / deployed to
// the given stages; it returns the API id.
func deployedAPI(t *testing.T, c *apigateway.Client, stages ...string) string {
	t.Helper()
	ctx := ctx(t)
	api, err := c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("fixture")})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String("test")})
	if err != nil {
		t.Fatal(err)
	}
	for _, rid := range []*string{res.Id, api.RootResourceId} {
		if _, err := c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: rid, HttpMethod: aws.String("GET"),
			AuthorizationType: aws.String("NONE"), ApiKeyRequired: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: rid, HttpMethod: aws.String("GET"),
			Type: types.IntegrationTypeMock, RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{RestApiId: api.Id, ResourceId: rid, HttpMethod: aws.String("GET"),
			StatusCode: aws.String("200"), ResponseTemplates: map[string]string{"application/json": `{"ok":true}`}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range stages {
		if _, err := c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String(st)}); err != nil {
			t.Fatal(err)
		}
	}
	return *api.Id
}

func TestUsagePlansE2E(t *testing.T) {
	s := startServer(t, "")
	c := s.client("us-east-1")
	ctx := ctx(t)
	api := deployedAPI(t, c, "dev", "prod")

	p, err := c.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("gold"),
		ApiStages: []types.ApiStage{{ApiId: aws.String(api), Stage: aws.String("dev")}},
		Throttle:  &types.ThrottleSettings{BurstLimit: 10, RateLimit: 5.5},
		Quota:     &types.QuotaSettings{Limit: 1000, Period: types.QuotaPeriodTypeDay}})
	if err != nil {
		t.Fatal(err)
	}
	if len(*p.Id) != 6 || len(p.ApiStages) != 1 || p.Quota.Offset != 0 || p.Throttle.RateLimit != 5.5 {
		t.Fatalf("plan: %+v", p)
	}
	_, err = c.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("bad"),
		ApiStages: []types.ApiStage{{ApiId: aws.String(api), Stage: aws.String("nope")}}})
	wantErr(t, err, "BadRequestException", "Invalid API Stage {api: %s, stage: %s} specified for usageplan %s")
	_, err = c.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("bad"),
		ApiStages: []types.ApiStage{{ApiId: aws.String(api), Stage: aws.String("dev"), Throttle: map[string]types.ThrottleSettings{"/test/GET": {RateLimit: 1, BurstLimit: 1}}}}})
	wantErr(t, err, "BadRequestException", "Can not define fine grain throttling if usage plan throttle is not defined.")
	_, err = c.GetUsagePlan(ctx, &apigateway.GetUsagePlanInput{UsagePlanId: aws.String("zzzzzz")})
	wantErr(t, err, "NotFoundException", "Invalid Usage Plan ID specified")

	// Keys: one plan per key per stage.
	k, err := c.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("k"), Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	pk, err := c.CreateUsagePlanKey(ctx, &apigateway.CreateUsagePlanKeyInput{UsagePlanId: p.Id, KeyId: k.Id, KeyType: aws.String("API_KEY")})
	if err != nil || aws.ToString(pk.Value) != aws.ToString(k.Value) || aws.ToString(pk.Type) != "API_KEY" {
		t.Fatalf("plan key: %+v %v", pk, err)
	}
	_, err = c.CreateUsagePlanKey(ctx, &apigateway.CreateUsagePlanKeyInput{UsagePlanId: p.Id, KeyId: k.Id, KeyType: aws.String("API_KEY")})
	wantErr(t, err, "ConflictException", "")
	other, err := c.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("silver"),
		ApiStages: []types.ApiStage{{ApiId: aws.String(api), Stage: aws.String("dev")}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateUsagePlanKey(ctx, &apigateway.CreateUsagePlanKeyInput{UsagePlanId: other.Id, KeyId: k.Id, KeyType: aws.String("API_KEY")})
	wantErr(t, err, "ConflictException", "")
	byKey, err := c.GetUsagePlans(ctx, &apigateway.GetUsagePlansInput{KeyId: k.Id})
	if err != nil || len(byKey.Items) != 1 || *byKey.Items[0].Id != *p.Id {
		t.Fatalf("plans by key: %+v %v", byKey, err)
	}
	_, err = c.GetUsagePlanKey(ctx, &apigateway.GetUsagePlanKeyInput{UsagePlanId: other.Id, KeyId: k.Id})
	wantErr(t, err, "NotFoundException", "Invalid Usage Plan ID specified")
	none, err := c.GetUsagePlanKeys(ctx, &apigateway.GetUsagePlanKeysInput{UsagePlanId: aws.String("zzzzzz")})
	if err != nil || len(none.Items) != 0 {
		t.Fatalf("unknown plan keys: %+v %v", none, err)
	}

	// Delete is refused while stages remain; keys do not block.
	_, err = c.DeleteUsagePlan(ctx, &apigateway.DeleteUsagePlanInput{UsagePlanId: p.Id})
	wantErr(t, err, "BadRequestException", "Cannot delete Usage Plan "+*p.Id+" because there are API Stages associated with it, including "+api+":dev")
	if _, err := c.DeleteUsagePlanKey(ctx, &apigateway.DeleteUsagePlanKeyInput{UsagePlanId: p.Id, KeyId: k.Id}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteUsagePlanKey(ctx, &apigateway.DeleteUsagePlanKeyInput{UsagePlanId: p.Id, KeyId: k.Id})
	wantErr(t, err, "NotFoundException", "")

	// DeleteStage cascades out of the plans.
	if _, err := c.DeleteStage(ctx, &apigateway.DeleteStageInput{RestApiId: aws.String(api), StageName: aws.String("dev")}); err != nil {
		t.Fatal(err)
	}
	g, err := c.GetUsagePlan(ctx, &apigateway.GetUsagePlanInput{UsagePlanId: p.Id})
	if err != nil || len(g.ApiStages) != 0 {
		t.Fatalf("stage still in plan after DeleteStage: %+v %v", g, err)
	}
	if _, err := c.DeleteUsagePlan(ctx, &apigateway.DeleteUsagePlanInput{UsagePlanId: p.Id}); err != nil {
		t.Fatal(err)
	}
}

// TestTerraformUsagePlanFlow replays the calls Terraform's aws_api_gateway_usage_plan and
// aws_api_gateway_api_key make (spec §10).
func TestTerraformUsagePlanFlow(t *testing.T) {
	s := startServer(t, "")
	c := s.client("us-east-1")
	ctx := ctx(t)
	api := deployedAPI(t, c, "dev", "prod")

	// aws_api_gateway_api_key: value "" when unset, then GetApiKey(includeValue).
	k, err := c.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("tf"), Value: aws.String(""),
		Description: aws.String("Managed by Terraform"), Enabled: true, Tags: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	gk, err := c.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: k.Id, IncludeValue: aws.Bool(true)})
	if err != nil || len(aws.ToString(gk.Value)) != 40 {
		t.Fatalf("tf key read: %+v %v", gk, err)
	}

	// Create (no productCode) → add /productCode → read.
	p, err := c.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("tf-plan"),
		ApiStages: []types.ApiStage{{ApiId: aws.String(api), Stage: aws.String("dev")}},
		Throttle:  &types.ThrottleSettings{BurstLimit: 5, RateLimit: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: p.Id, PatchOperations: []types.PatchOperation{
		{Op: types.OpAdd, Path: aws.String("/productCode"), Value: aws.String("PROD-1")}}}); err != nil {
		t.Fatal(err)
	}
	// One PATCH: remove old stage, add new stages, per-method throttles with Terraform's raw path form.
	up, err := c.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: p.Id, PatchOperations: []types.PatchOperation{
		{Op: types.OpRemove, Path: aws.String("/apiStages"), Value: aws.String(api + ":dev")},
		{Op: types.OpAdd, Path: aws.String("/apiStages"), Value: aws.String(api + ":dev")},
		{Op: types.OpAdd, Path: aws.String("/apiStages"), Value: aws.String(api + ":prod")},
		{Op: types.OpReplace, Path: aws.String("/apiStages/" + api + ":dev/throttle//test/GET/rateLimit"), Value: aws.String("2")},
		{Op: types.OpReplace, Path: aws.String("/apiStages/" + api + ":dev/throttle//test/GET/burstLimit"), Value: aws.String("3")},
		{Op: types.OpReplace, Path: aws.String("/quota/limit"), Value: aws.String("500")},
		{Op: types.OpReplace, Path: aws.String("/quota/period"), Value: aws.String("WEEK")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(up.ProductCode) != "PROD-1" || len(up.ApiStages) != 2 || up.Quota == nil || up.Quota.Limit != 500 || up.Quota.Period != types.QuotaPeriodTypeWeek {
		t.Fatalf("after update: %+v", up)
	}
	var devThrottle map[string]types.ThrottleSettings
	for _, st := range up.ApiStages {
		if aws.ToString(st.Stage) == "dev" {
			devThrottle = st.Throttle
		}
	}
	if th, ok := devThrottle["/test/GET"]; !ok || th.RateLimit != 2 || th.BurstLimit != 3 {
		t.Fatalf("method throttle: %+v", devThrottle)
	}
	// Tags through TagResource, read back from GetUsagePlan.
	arn := "arn:aws:apigateway:us-east-1::/usageplans/" + *p.Id
	if _, err := c.TagResource(ctx, &apigateway.TagResourceInput{ResourceArn: aws.String(arn), Tags: map[string]string{"env": "test"}}); err != nil {
		t.Fatal(err)
	}
	g, err := c.GetUsagePlan(ctx, &apigateway.GetUsagePlanInput{UsagePlanId: p.Id})
	if err != nil || g.Tags["env"] != "test" {
		t.Fatalf("tags: %+v %v", g, err)
	}
	// Destroy: remove every stage, then delete; a second delete is a 404 Terraform ignores.
	if _, err := c.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: p.Id, PatchOperations: []types.PatchOperation{
		{Op: types.OpRemove, Path: aws.String("/apiStages"), Value: aws.String(api + ":dev")},
		{Op: types.OpRemove, Path: aws.String("/apiStages"), Value: aws.String(api + ":prod")},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteUsagePlan(ctx, &apigateway.DeleteUsagePlanInput{UsagePlanId: p.Id}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteUsagePlan(ctx, &apigateway.DeleteUsagePlanInput{UsagePlanId: p.Id})
	wantErr(t, err, "NotFoundException", "Invalid Usage Plan ID specified")
}
