package config

import (
	"io"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(t *testing.T, c Config)
		wantErr string
	}{
		{name: "defaults", check: func(t *testing.T, c Config) {
			if c.Addr != "127.0.0.1:4566" || c.DataDir != "./tollgate-data" || c.Region != "us-east-1" || c.MaxSkew != 5*time.Minute {
				t.Errorf("defaults: %+v", c)
			}
			if !c.DefaultCredentials || c.AccessKeyID != "test" || c.SecretAccessKey != "test" {
				t.Errorf("want test/test default credentials on loopback, got %+v", c)
			}
			if c.AccountRateLimit != 10000 || c.AccountBurstLimit != 5000 {
				t.Errorf("account throttle %v/%v", c.AccountRateLimit, c.AccountBurstLimit)
			}
		}},
		{name: "env", env: map[string]string{"TOLLGATE_ADDR": "127.0.0.1:9", "TOLLGATE_REGION": "eu-west-1", "TOLLGATE_ACCESS_KEY_ID": "AK", "TOLLGATE_SECRET_ACCESS_KEY": "SK"},
			check: func(t *testing.T, c Config) {
				if c.Addr != "127.0.0.1:9" || c.Region != "eu-west-1" || c.AccessKeyID != "AK" || c.DefaultCredentials {
					t.Errorf("env not applied: %+v", c)
				}
			}},
		{name: "flag beats env", args: []string{"--addr", "127.0.0.1:7"}, env: map[string]string{"TOLLGATE_ADDR": "127.0.0.1:9"},
			check: func(t *testing.T, c Config) {
				if c.Addr != "127.0.0.1:7" {
					t.Errorf("addr %s", c.Addr)
				}
			}},
		{name: "non-loopback needs credentials", args: []string{"--addr", "0.0.0.0:4566"}, wantErr: "not a loopback address"},
		{name: "non-loopback with credentials", args: []string{"--addr", "0.0.0.0:4566"}, env: map[string]string{"TOLLGATE_ACCESS_KEY_ID": "AK", "TOLLGATE_SECRET_ACCESS_KEY": "SK"}},
		{name: "half credentials", env: map[string]string{"TOLLGATE_ACCESS_KEY_ID": "AK"}, wantErr: "set both"},
		{name: "bad account", args: []string{"--account-id", "12"}, wantErr: "must be 12 digits"},
		{name: "bad skew", env: map[string]string{"TOLLGATE_MAX_SKEW": "soon"}, wantErr: "TOLLGATE_MAX_SKEW"},
		{name: "bad region", args: []string{"--region", "mars"}, wantErr: "--region"},
		{name: "bad addr", args: []string{"--addr", "nohostport"}, wantErr: "--addr"},
		{name: "stray argument", args: []string{"extra"}, wantErr: "unexpected argument"},
		{name: "bad log level", args: []string{"--log-level", "loud"}, wantErr: "--log-level"},
		{name: "engines", args: []string{"--engine", "nethttp"}, check: func(t *testing.T, c Config) {
			if c.Engine != "nethttp" {
				t.Errorf("engine %q", c.Engine)
			}
		}},
		{name: "default engine", check: func(t *testing.T, c Config) {
			if c.Engine != "fasthttp" || c.Counters != "" || c.CountersFailure != "local" {
				t.Errorf("defaults: engine %q counters %q failure %q", c.Engine, c.Counters, c.CountersFailure)
			}
		}},
		{name: "debug addr on loopback", env: map[string]string{"TOLLGATE_DEBUG_ADDR": "127.0.0.1:6060"}, check: func(t *testing.T, c Config) {
			if c.DebugAddr != "127.0.0.1:6060" {
				t.Errorf("debug addr %q", c.DebugAddr)
			}
		}},
		{name: "debug addr off loopback", args: []string{"--debug-addr", "0.0.0.0:6060"}, wantErr: "--debug-addr"},
		{name: "bad engine", args: []string{"--engine", "nginx"}, wantErr: "--engine"},
		{name: "redis counters", env: map[string]string{"TOLLGATE_COUNTERS": "redis://127.0.0.1:6379/0", "TOLLGATE_COUNTERS_FAILURE": "closed"}, check: func(t *testing.T, c Config) {
			if c.Counters != "redis://127.0.0.1:6379/0" || c.CountersFailure != "closed" {
				t.Errorf("counters %q %q", c.Counters, c.CountersFailure)
			}
		}},
		{name: "bad counters", args: []string{"--counters", "memcached://x"}, wantErr: "--counters"},
		{name: "bad counters failure", args: []string{"--counters-failure", "maybe"}, wantErr: "--counters-failure"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load("serve", tc.args, env(tc.env), io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}
