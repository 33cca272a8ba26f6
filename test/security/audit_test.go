package security

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/tollgate/tollgate/test/harness"
)

// TestAuditRecords (issue 10): every management write leaves one info record — operation, access
// key id, the ids it names or created, status, request id — and none carries a key value; reads
// leave none.
func TestAuditRecords(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Client("us-east-1")
	ctx := harness.Ctx(t)
	const value = "audit-marker-value-0123456789abcdef"
	k, err := c.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("audited"), Value: aws.String(value), Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateApiKey(ctx, &apigateway.UpdateApiKeyInput{ApiKey: k.Id, PatchOperations: []types.PatchOperation{
		{Op: types.OpReplace, Path: aws.String("/description"), Value: aws.String("d")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: k.Id, IncludeValue: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteApiKey(ctx, &apigateway.DeleteApiKeyInput{ApiKey: k.Id}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteApiKey(ctx, &apigateway.DeleteApiKeyInput{ApiKey: k.Id}) // a refused write is audited too
	if err == nil {
		t.Fatal("second delete succeeded")
	}
	want := []struct{ op, has string }{
		{"CreateApiKey", "created-id=" + *k.Id + " status=201"},
		{"UpdateApiKey", "api_Key=" + *k.Id + " status=200"},
		{"DeleteApiKey", "api_Key=" + *k.Id + " status=202"},
		{"DeleteApiKey", "api_Key=" + *k.Id + " status=404"},
	}
	// A record is written as its handler returns, which may be just after the client has its
	// answer: wait for the last one.
	var records []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		records = records[:0]
		for _, l := range strings.Split(s.Log(), "\n") {
			if strings.Contains(l, "msg=audit") {
				records = append(records, l)
			}
		}
		if len(records) >= len(want) || time.Now().After(deadline) {
			break
		}
	}
	if len(records) != len(want) {
		t.Fatalf("%d audit records, want %d:\n%s", len(records), len(want), strings.Join(records, "\n"))
	}
	for i, w := range want {
		r := records[i]
		for _, sub := range []string{"level=INFO", "operation=" + w.op, "access-key-id=test", "region=us-east-1", w.has, "request-id="} {
			if !strings.Contains(r, sub) {
				t.Errorf("record %d %q lacks %q", i, r, sub)
			}
		}
		if strings.HasSuffix(r, "request-id=") {
			t.Errorf("record %d has no request id: %q", i, r)
		}
	}
	if strings.Contains(s.Log(), value) {
		t.Fatal("a key value reached the log")
	}
}
