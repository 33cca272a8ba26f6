package dataplane

import "testing"

func TestResolve(t *testing.T) {
	tests := []struct {
		host, path       string
		api, stage, rest string
		ok               bool
	}{
		{"abc123.execute-api.localhost:4566", "/dev/pets/1", "abc123", "dev", "/pets/1", true},
		{"abc123.execute-api.us-east-1.amazonaws.com", "/dev", "abc123", "dev", "", true},
		{"abc123.execute-api.localhost", "/dev/", "abc123", "dev", "/", true},
		{"127.0.0.1:4566", "/_aws/execute-api/abc123/dev/pets", "abc123", "dev", "/pets", true},
		{"127.0.0.1:4566", "/restapis/abc123/dev/_user_request_/pets/1", "abc123", "dev", "/pets/1", true},
		{"127.0.0.1:4566", "/restapis/abc123/dev/_user_request_", "abc123", "dev", "", true},
		{"127.0.0.1:4566", "/restapis/abc123/resources/xyz", "", "", "", false},
		{"127.0.0.1:4566", "/restapis/abc123/stages/dev", "", "", "", false},
		{"127.0.0.1:4566", "/apikeys", "", "", "", false},
		{"localhost:4566", "/usageplans/x/keys", "", "", "", false},
		{"execute-api.localhost", "/x", "", "", "", false},
	}
	for _, tc := range tests {
		api, stage, rest, ok := Resolve(tc.host, tc.path)
		if api != tc.api || stage != tc.stage || rest != tc.rest || ok != tc.ok {
			t.Errorf("Resolve(%q, %q) = %q %q %q %v, want %q %q %q %v", tc.host, tc.path, api, stage, rest, ok, tc.api, tc.stage, tc.rest, tc.ok)
		}
	}
}
