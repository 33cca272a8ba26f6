package control

import (
	"context"
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/apigw/patch"
)

func TestAccountRoleARNShape(t *testing.T) {
	tests := []struct {
		arn string
		ok  bool
	}{
		{"arn:aws:iam::123456789012:role/apigw", true},
		{"arn:aws:iam::123456789012:role/service-role/a/b+=,.@_-c", true},
		{"arn:aws-cn:iam::123456789012:role/x", true},
		{"arn:aws-us-gov:iam::123456789012:role/x", true},
		{"arn:aws:iam::12345678901:role/x", false},   // 11 digits
		{"arn:aws:iam::123456789012:user/x", false},  // not a role
		{"arn:aws:iam::123456789012:role/", false},   // no name
		{"arn:aws:iam::123456789012:role/x/", false}, // path without name
		{"arn:aws:iam:us-east-1:123456789012:role/x", false},
		{"arn:aws:s3:::bucket", false},
		{"not an arn", false},
		{"arn:aws:iam::123456789012:role/has space", false},
	}
	f := newKeyFixture(t)
	for _, tc := range tests {
		t.Run(tc.arn, func(t *testing.T) {
			v := tc.arn
			a, err := f.svc.UpdateAccount(context.Background(), keyTestRegion, []patch.Op{{Op: "replace", Path: "/cloudwatchRoleArn", Value: &v}})
			if !tc.ok {
				checkErr(t, err, apigw.KindBadRequest, "The role ARN is not well formed")
				return
			}
			if err != nil || a.CloudwatchRoleArn != tc.arn {
				t.Fatalf("account %+v err %v", a, err)
			}
		})
	}
}

// TestAccountConfiguredSettings checks that throttleSettings and apiKeyVersion come from the
// configuration, not from what is stored.
func TestAccountConfiguredSettings(t *testing.T) {
	f := newKeyFixture(t)
	v := "arn:aws:iam::123456789012:role/x"
	if _, err := f.svc.UpdateAccount(context.Background(), keyTestRegion, []patch.Op{{Op: "replace", Path: "/cloudwatchRoleArn", Value: &v}}); err != nil {
		t.Fatal(err)
	}
	svc := New(f.st, Config{AccountThrottle: apigw.Throttle{BurstLimit: 1250, RateLimit: 2500}, ApiKeyVersion: "7"}, nil)
	a, err := svc.GetAccount(context.Background(), keyTestRegion)
	if err != nil {
		t.Fatal(err)
	}
	if a.Throttle != (apigw.Throttle{BurstLimit: 1250, RateLimit: 2500}) || a.ApiKeyVersion != "7" || a.CloudwatchRoleArn != v ||
		len(a.Features) != 1 || a.Features[0] != FeatureUsagePlans {
		t.Fatalf("account %+v", a)
	}
}
