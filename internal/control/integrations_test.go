package control

import (
	"reflect"
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
)

func TestValidHTTPURI(t *testing.T) {
	tests := map[string]bool{
		"http://example.com":                  true,
		"https://example.com/pets/{id}?a=b":   true,
		"HTTPS://EXAMPLE.COM":                 true,
		"http://${stageVariables.host}/x":     true,
		"http://10.0.0.1:8080":                true,
		"":                                    false,
		"example.com":                         false,
		"ftp://example.com":                   false,
		"http://":                             false,
		"http:///path":                        false,
		"http://exa mple.com":                 false,
		"arn:aws:apigateway:us-east-1:s3:x/y": false,
	}
	for uri, want := range tests {
		if got := validHTTPURI(uri); got != want {
			t.Errorf("validHTTPURI(%q) = %v, want %v", uri, got, want)
		}
	}
}

func TestValidateAWSURI(t *testing.T) {
	const (
		invalidARN = "Invalid ARN specified in the request"
		noPath     = "AWS ARN for integration must contain path or action"
		proxyOnly  = "Integrations of type 'AWS_PROXY' currently only supports Lambda function and Firehose stream invocations."
	)
	lambda := "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:f/invocations"
	tests := []struct {
		typ, uri, msg string
	}{
		{apigw.IntegrationAWSProxy, lambda, ""},
		{apigw.IntegrationAWS, lambda, ""},
		{apigw.IntegrationAWS, "arn:aws:apigateway:us-east-1:sqs:action/SendMessage", ""},
		{apigw.IntegrationAWS, "arn:aws:apigateway:us-east-1:mybucket.s3:path/key", ""},
		{apigw.IntegrationAWS, "arn:aws-cn:apigateway:cn-north-1:s3:path/b/k", ""},
		{apigw.IntegrationAWSProxy, "arn:aws:apigateway:us-east-1:firehose:action/PutRecord", ""},
		{apigw.IntegrationAWS, "", invalidARN},
		{apigw.IntegrationAWS, "http://example.com", invalidARN},
		{apigw.IntegrationAWS, "arn:aws:lambda:us-east-1:1:function:f", noPath},
		{apigw.IntegrationAWS, "arn:aws:iam::0000000000:role/service-role/asdf", noPath},
		{apigw.IntegrationAWSProxy, "arn:aws:iam::0000000000:role/service-role/asdf", noPath},
		{apigw.IntegrationAWS, "arn:aws:s3:::path/key", invalidARN},
		{apigw.IntegrationAWS, "arn:aws:apigateway:us-east-1::path/key", invalidARN},
		{apigw.IntegrationAWS, "non-valid-arn", invalidARN},
		{apigw.IntegrationAWS, "arn::apigateway:us-east-1:s3:path/b/k", invalidARN},
		{apigw.IntegrationAWS, "arn:aws:apigateway:us-east-1:s3:bucket/key", noPath},
		{apigw.IntegrationAWS, "arn:aws:apigateway:us-east-1:s3", noPath},
		{apigw.IntegrationAWS, "arn:aws:apigateway:us-east-1", invalidARN},
		{apigw.IntegrationAWSProxy, "arn:aws:apigateway:us-east-1:s3:path/b/k", proxyOnly},
		{apigw.IntegrationAWSProxy, "arn:aws:apigateway:us-east-1:lambda:action/Invoke", proxyOnly},
	}
	for _, tc := range tests {
		err := validateAWSURI(tc.typ, tc.uri)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.msg {
			t.Errorf("validateAWSURI(%s, %q) = %q, want %q", tc.typ, tc.uri, got, tc.msg)
		}
	}
}

func TestNewIntegrationDefaults(t *testing.T) {
	typ := func(s string) *string { return &s }
	tests := []struct {
		name string
		in   PutIntegrationInput
		want apigw.Integration
	}{
		{"mock keeps no backend", PutIntegrationInput{Type: typ("MOCK"), HTTPMethod: "GET", URI: "http://x", ConnectionType: "INTERNET"},
			apigw.Integration{Type: "MOCK", PassthroughBehavior: "WHEN_NO_MATCH", TimeoutInMillis: 29000, CacheNamespace: "res1", CacheKeyParameters: []string{}}},
		{"http gets INTERNET", PutIntegrationInput{Type: typ("HTTP"), HTTPMethod: "post", URI: "http://x"},
			apigw.Integration{Type: "HTTP", HTTPMethod: "POST", URI: "http://x", ConnectionType: "INTERNET", PassthroughBehavior: "WHEN_NO_MATCH",
				TimeoutInMillis: 29000, CacheNamespace: "res1", CacheKeyParameters: []string{}}},
		{"aws keeps connection type unset", PutIntegrationInput{Type: typ("AWS"), HTTPMethod: "POST", URI: "arn:aws:apigateway:us-east-1:sqs:action/Send",
			CacheNamespace: "ns", CacheKeyParameters: []string{"k"}, TimeoutInMillis: new(int64(100)), PassthroughBehavior: "when_no_templates"},
			apigw.Integration{Type: "AWS", HTTPMethod: "POST", URI: "arn:aws:apigateway:us-east-1:sqs:action/Send", PassthroughBehavior: "WHEN_NO_TEMPLATES",
				TimeoutInMillis: 100, CacheNamespace: "ns", CacheKeyParameters: []string{"k"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NewIntegration("res1", tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tc.want)
			}
		})
	}
}
