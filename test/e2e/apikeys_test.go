package e2e

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/smithy-go"
)

// apiErr returns the AWS error code and message of err (fails the test if err is not an API error).
func apiErr(t *testing.T, err error) (string, string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want an AWS API error, got %v", err)
	}
	return ae.ErrorCode(), ae.ErrorMessage()
}

// wantErr checks an operation failed with the given code and message ("" = any message).
func wantErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s %q, got success", code, msg)
	}
	gotCode, gotMsg := apiErr(t, err)
	if gotCode != code || (msg != "" && gotMsg != msg) {
		t.Fatalf("got %s %q, want %s %q", gotCode, gotMsg, code, msg)
	}
}

func TestApiKeysE2E(t *testing.T) {
	s := startServer(t, "")
	c := s.client("us-east-1")
	ctx := ctx(t)

	// Create: no parameters at all → generated 40-char value, enabled false, no name.
	k0, err := c.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(*k0.Id) != 10 || len(aws.ToString(k0.Value)) != 40 || k0.Enabled || k0.Name != nil {
		t.Fatalf("bare key: %+v", k0)
	}
	k1, err := c.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("alice"), Enabled: true,
		Value: aws.String("alice-key-0123456789abcdef"), CustomerId: aws.String("cust-1"), Tags: map[string]string{"team": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Enabled || aws.ToString(k1.Value) != "alice-key-0123456789abcdef" || k1.Tags["team"] != "a" {
		t.Fatalf("alice: %+v", k1)
	}

	// Errors with AWS's texts.
	_, err = c.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Value: aws.String("alice-key-0123456789abcdef")})
	wantErr(t, err, "ConflictException", "API Key already exists")
	_, err = c.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Value: aws.String("short")})
	wantErr(t, err, "BadRequestException", "API Key value should be at least 20 characters")
	_, err = c.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String(strings.Repeat("n", 1025))})
	wantErr(t, err, "BadRequestException", "Invalid API Key name, can be at most 1024 characters.")
	_, err = c.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: aws.String("nonexistent")})
	wantErr(t, err, "NotFoundException", "Invalid API Key identifier specified")

	// Get with and without the value.
	g, err := c.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: k1.Id})
	if err != nil || g.Value != nil || aws.ToString(g.Name) != "alice" {
		t.Fatalf("get without value: %+v %v", g, err)
	}
	g, err = c.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: k1.Id, IncludeValue: aws.Bool(true)})
	if err != nil || aws.ToString(g.Value) != "alice-key-0123456789abcdef" {
		t.Fatalf("get with value: %+v %v", g, err)
	}

	// List: newest first, name prefix, customerId, paging.
	for i := 0; i < 5; i++ {
		if _, err := c.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String(fmt.Sprintf("bulk-%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	l, err := c.GetApiKeys(ctx, &apigateway.GetApiKeysInput{NameQuery: aws.String("bulk-")})
	if err != nil || len(l.Items) != 5 || aws.ToString(l.Items[0].Name) != "bulk-4" || l.Items[0].Value != nil {
		t.Fatalf("name prefix list: %+v %v", l, err)
	}
	l, err = c.GetApiKeys(ctx, &apigateway.GetApiKeysInput{CustomerId: aws.String("cust-1"), IncludeValues: aws.Bool(true)})
	if err != nil || len(l.Items) != 1 || aws.ToString(l.Items[0].Value) == "" {
		t.Fatalf("customer list: %+v %v", l, err)
	}
	var seen []string
	p := apigateway.NewGetApiKeysPaginator(c, &apigateway.GetApiKeysInput{Limit: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) > 2 {
			t.Fatalf("page of %d items with limit 2", len(page.Items))
		}
		for _, it := range page.Items {
			seen = append(seen, *it.Id)
		}
	}
	if len(seen) != 7 {
		t.Fatalf("paging saw %d keys, want 7", len(seen))
	}

	// Update: replace paths, enabled parsing, bad path text.
	u, err := c.UpdateApiKey(ctx, &apigateway.UpdateApiKeyInput{ApiKey: k1.Id, PatchOperations: []types.PatchOperation{
		{Op: types.OpReplace, Path: aws.String("/name"), Value: aws.String("alice2")},
		{Op: types.OpReplace, Path: aws.String("/enabled"), Value: aws.String("not-a-boolean")},
	}})
	if err != nil || aws.ToString(u.Name) != "alice2" || u.Enabled || u.Value != nil {
		t.Fatalf("update: %+v %v", u, err)
	}
	_, err = c.UpdateApiKey(ctx, &apigateway.UpdateApiKeyInput{ApiKey: k1.Id, PatchOperations: []types.PatchOperation{
		{Op: types.OpReplace, Path: aws.String("/value"), Value: aws.String("x")}}})
	wantErr(t, err, "BadRequestException", "Invalid patch path  '/value' specified for op 'replace'. Must be one of: [/description, /enabled, /name, /customerId]")

	// Delete, then 404.
	if _, err := c.DeleteApiKey(ctx, &apigateway.DeleteApiKeyInput{ApiKey: k0.Id}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteApiKey(ctx, &apigateway.DeleteApiKeyInput{ApiKey: k0.Id})
	wantErr(t, err, "NotFoundException", "Invalid API Key identifier specified")
}

// TestImportApiKeysE2E runs on both stores: on PostgreSQL new keys go in through COPY, and a
// batch holding a value that exists falls back to INSERT … ON CONFLICT (sqlstore.Copier).
func TestImportApiKeysE2E(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  func(t *testing.T) []string
	}{
		{"embedded", func(*testing.T) []string { return nil }},
		{"postgres", func(t *testing.T) []string {
			return []string{"TOLLGATE_STORE=" + postgresDSN(t), masterKeyEnv(t)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { testImportApiKeys(t, startServer(t, "", tc.env(t)...)) })
	}
}

func testImportApiKeys(t *testing.T, s *server) {
	c := s.client("us-east-1")
	ctx := ctx(t)
	plan, err := c.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("import-plan")})
	if err != nil {
		t.Fatal(err)
	}
	csv := "\ufeffkey,NAME, description,enabled,usageplanIds,extra\r\n" +
		"imported-key-000000000001,k1,first,tRuE," + *plan.Id + ",x\r\n" +
		"imported-key-000000000002,k2,,false,,\r\n" +
		"\r\n" +
		"short,k3,,,,\r\n"
	out, err := c.ImportApiKeys(ctx, &apigateway.ImportApiKeysInput{Body: []byte(csv), Format: types.ApiKeysFormatCsv})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Ids) != 2 || len(out.Warnings) != 1 {
		t.Fatalf("import: ids %v warnings %v", out.Ids, out.Warnings)
	}
	keys, err := c.GetUsagePlanKeys(ctx, &apigateway.GetUsagePlanKeysInput{UsagePlanId: plan.Id})
	if err != nil || len(keys.Items) != 1 || aws.ToString(keys.Items[0].Value) != "imported-key-000000000001" {
		t.Fatalf("plan keys after import: %+v %v", keys, err)
	}
	// failonwarnings: nothing imported.
	_, err = c.ImportApiKeys(ctx, &apigateway.ImportApiKeysInput{Body: []byte("Name,Key\nk4,imported-key-000000000004\nk5,short\n"), Format: types.ApiKeysFormatCsv, FailOnWarnings: true})
	wantErr(t, err, "BadRequestException", "")
	l, _ := c.GetApiKeys(ctx, &apigateway.GetApiKeysInput{NameQuery: aws.String("k4")})
	if len(l.Items) != 0 {
		t.Fatal("failonwarnings import kept a key")
	}
	_, err = c.ImportApiKeys(ctx, &apigateway.ImportApiKeysInput{Body: []byte("Name,Description\nx,y\n"), Format: types.ApiKeysFormatCsv})
	wantErr(t, err, "BadRequestException", "Missing required column 'Key'")
	// Re-import overwrites by value.
	out, err = c.ImportApiKeys(ctx, &apigateway.ImportApiKeysInput{Body: []byte("Name,Key\nrenamed,imported-key-000000000002\n"), Format: types.ApiKeysFormatCsv})
	if err != nil || len(out.Ids) != 1 {
		t.Fatalf("re-import: %+v %v", out, err)
	}
	g, err := c.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: aws.String(out.Ids[0])})
	if err != nil || aws.ToString(g.Name) != "renamed" || !g.Enabled {
		t.Fatalf("overwritten key: %+v %v", g, err)
	}
	// A big import: two batches of new keys, with values taken among them (every tenth row
	// repeats the row before it), in a plan. Nothing is lost or doubled, and a repeated value
	// updates its key in place.
	var b strings.Builder
	b.WriteString("Name,Key,UsagePlanIds\n")
	const rows = 3000
	for i := range rows {
		value := fmt.Sprintf("bulk-key-%06d-0000000000", i)
		if i%10 == 0 && i > 0 {
			value = fmt.Sprintf("bulk-key-%06d-0000000000", i-1)
		}
		fmt.Fprintf(&b, "bulk%d,%s,%s\n", i, value, *plan.Id)
	}
	out, err = c.ImportApiKeys(ctx, &apigateway.ImportApiKeysInput{Body: []byte(b.String()), Format: types.ApiKeysFormatCsv, FailOnWarnings: true})
	if err != nil || len(out.Ids) != rows {
		t.Fatalf("bulk import: %d ids, %v", len(out.Ids), err)
	}
	distinct := map[string]bool{}
	for _, id := range out.Ids {
		distinct[id] = true
	}
	if want := rows - (rows-1)/10; len(distinct) != want {
		t.Fatalf("bulk import: %d distinct ids, want %d", len(distinct), want)
	}
	if out.Ids[20] != out.Ids[19] {
		t.Fatalf("row 20 (the value of row 19) got key %s, row 19 got %s", out.Ids[20], out.Ids[19])
	}
	g, err = c.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: aws.String(out.Ids[19]), IncludeValue: aws.Bool(true)})
	if err != nil || aws.ToString(g.Name) != "bulk20" || aws.ToString(g.Value) != "bulk-key-000019-0000000000" {
		t.Fatalf("a key a later row updated: %+v %v", g, err)
	}
	n := 0
	for p := apigateway.NewGetUsagePlanKeysPaginator(c, &apigateway.GetUsagePlanKeysInput{UsagePlanId: plan.Id, Limit: aws.Int32(500)}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Items)
	}
	if want := len(distinct) + 1; n != want { // and imported-key-000000000001
		t.Fatalf("plan keys after the bulk import: %d, want %d", n, want)
	}
}

func TestAccountE2E(t *testing.T) {
	s := startServer(t, "", "TOLLGATE_ACCOUNT_RATE_LIMIT=250.5", "TOLLGATE_ACCOUNT_BURST_LIMIT=100")
	c := s.client("us-east-1")
	ctx := ctx(t)
	a, err := c.GetAccount(ctx, &apigateway.GetAccountInput{})
	if err != nil {
		t.Fatal(err)
	}
	if a.ThrottleSettings == nil || a.ThrottleSettings.BurstLimit != 100 || a.ThrottleSettings.RateLimit != 250.5 ||
		len(a.Features) != 1 || a.Features[0] != "UsagePlans" || a.CloudwatchRoleArn != nil {
		t.Fatalf("account: %+v", a)
	}
	role := "arn:aws:iam::123456789012:role/apigw-logs"
	ua, err := c.UpdateAccount(ctx, &apigateway.UpdateAccountInput{PatchOperations: []types.PatchOperation{
		{Op: types.OpReplace, Path: aws.String("/cloudwatchRoleArn"), Value: aws.String(role)}}})
	if err != nil || aws.ToString(ua.CloudwatchRoleArn) != role {
		t.Fatalf("update account: %+v %v", ua, err)
	}
	// Terraform clears the role with a replace without value, and sends empty op lists.
	ua, err = c.UpdateAccount(ctx, &apigateway.UpdateAccountInput{PatchOperations: []types.PatchOperation{
		{Op: types.OpReplace, Path: aws.String("/cloudwatchRoleArn")}}})
	if err != nil || ua.CloudwatchRoleArn != nil {
		t.Fatalf("clear role: %+v %v", ua, err)
	}
	if _, err := c.UpdateAccount(ctx, &apigateway.UpdateAccountInput{}); err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateAccount(ctx, &apigateway.UpdateAccountInput{PatchOperations: []types.PatchOperation{
		{Op: types.OpReplace, Path: aws.String("/cloudwatchRoleArn"), Value: aws.String("not-an-arn")}}})
	wantErr(t, err, "BadRequestException", "The role ARN is not well formed")
}

// SigV4 through the real SDK: bad secrets and unknown keys are refused; regions are isolated.
func TestSigV4AndRegionsE2E(t *testing.T) {
	s := startServer(t, "", "TOLLGATE_ACCESS_KEY_ID=AKIDTOLLGATE", "TOLLGATE_SECRET_ACCESS_KEY=s3cr3t")
	ctx := ctx(t)
	_, err := s.client("us-east-1", "AKIDTOLLGATE", "wrong").GetApiKeys(ctx, &apigateway.GetApiKeysInput{})
	wantErr(t, err, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	_, err = s.client("us-east-1", "AKIDUNKNOWN", "s3cr3t").GetApiKeys(ctx, &apigateway.GetApiKeysInput{})
	wantErr(t, err, "UnrecognizedClientException", "The security token included in the request is invalid.")

	east, west := s.client("us-east-1", "AKIDTOLLGATE", "s3cr3t"), s.client("us-west-2", "AKIDTOLLGATE", "s3cr3t")
	p, err := west.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("west-only")})
	if err != nil {
		t.Fatal(err)
	}
	l, err := east.GetUsagePlans(ctx, &apigateway.GetUsagePlansInput{})
	if err != nil || len(l.Items) != 0 {
		t.Fatalf("us-east-1 sees %d plans (%v)", len(l.Items), err)
	}
	_, err = east.GetUsagePlan(ctx, &apigateway.GetUsagePlanInput{UsagePlanId: p.Id})
	wantErr(t, err, "NotFoundException", "Invalid Usage Plan ID specified")
	l, err = west.GetUsagePlans(ctx, &apigateway.GetUsagePlansInput{})
	if err != nil || len(l.Items) != 1 {
		t.Fatalf("us-west-2 sees %d plans (%v)", len(l.Items), err)
	}
}
