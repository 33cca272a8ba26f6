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
		{name: "event-loop engine", env: map[string]string{"TOLLGATE_ENGINE": "gnet"}, check: func(t *testing.T, c Config) {
			if c.Engine != "gnet" {
				t.Errorf("engine %q", c.Engine)
			}
		}},
		// The event loops speak plain HTTP only: TLS with them is refused, never ignored.
		{name: "event-loop engine with TLS", args: []string{"--engine", "gnet", "--tls-cert-file", "c.pem", "--tls-key-file", "k.pem"}, wantErr: "--engine gnet serves plain HTTP only"},
		{name: "redis counters", env: map[string]string{"TOLLGATE_COUNTERS": "redis://127.0.0.1:6379/0", "TOLLGATE_COUNTERS_FAILURE": "closed"}, check: func(t *testing.T, c Config) {
			if c.Counters != "redis://127.0.0.1:6379/0" || c.CountersFailure != "closed" {
				t.Errorf("counters %q %q", c.Counters, c.CountersFailure)
			}
		}},
		{name: "bad counters", args: []string{"--counters", "memcached://x"}, wantErr: "--counters"},
		{name: "bad counters failure", args: []string{"--counters-failure", "maybe"}, wantErr: "--counters-failure"},
		// Typed flags: a bool stands alone, =false still works, and the flag beats the environment.
		{name: "bool flags alone", args: []string{"--ratelimit-headers", "--quota-fail-open", "--insecure-skip-auth"}, check: func(t *testing.T, c Config) {
			if !c.RateLimitHeaders || !c.QuotaFailOpen || !c.InsecureSkipAuth {
				t.Errorf("bool flags alone not true: %+v", c)
			}
		}},
		{name: "bool flag =false beats env", args: []string{"--ratelimit-headers=false"}, env: map[string]string{"TOLLGATE_RATELIMIT_HEADERS": "true"}, check: func(t *testing.T, c Config) {
			if c.RateLimitHeaders {
				t.Error("--ratelimit-headers=false lost to the environment")
			}
		}},
		{name: "bool from env", env: map[string]string{"TOLLGATE_QUOTA_FAIL_OPEN": "1"}, check: func(t *testing.T, c Config) {
			if !c.QuotaFailOpen {
				t.Error("TOLLGATE_QUOTA_FAIL_OPEN=1 not applied")
			}
		}},
		{name: "typed values", args: []string{"--max-skew", "90s", "--account-burst-limit", "7", "--account-rate-limit", "2.5"}, check: func(t *testing.T, c Config) {
			if c.MaxSkew != 90*time.Second || c.AccountBurstLimit != 7 || c.AccountRateLimit != 2.5 {
				t.Errorf("typed values: %v %v %v", c.MaxSkew, c.AccountBurstLimit, c.AccountRateLimit)
			}
		}},
		{name: "bad duration flag", args: []string{"--max-skew", "soon"}, wantErr: "not a valid duration"},
		{name: "bad int flag", args: []string{"--account-burst-limit", "many"}, wantErr: "not a valid int"},
		{name: "bad bool flag", args: []string{"--quota-fail-open=maybe"}, wantErr: "not a valid bool"},
		{name: "port too large", args: []string{"--addr", "127.0.0.1:99999"}, wantErr: "not a number from 0 to 65535"},
		{name: "port not a number", args: []string{"--addr", "127.0.0.1:abc"}, wantErr: "not a number from 0 to 65535"},
		{name: "gateway port too large", args: []string{"--gateway-addr", "127.0.0.1:70000"}, wantErr: "--gateway-addr"},
		{name: "gateway addr is addr", args: []string{"--addr", "127.0.0.1:4566", "--gateway-addr", "127.0.0.1:4566"}, wantErr: "--gateway-addr \"127.0.0.1:4566\" is --addr"},
		{name: "gateway on all interfaces, same port", args: []string{"--addr", "127.0.0.1:4566", "--gateway-addr", ":4566"}, wantErr: "is --addr"},
		{name: "gateway on another port", args: []string{"--addr", "127.0.0.1:4566", "--gateway-addr", "127.0.0.1:4567"}},
		{name: "both on port 0", args: []string{"--addr", "127.0.0.1:0", "--gateway-addr", "127.0.0.1:0"}},
		// The usage flush interval defaults by store, and an explicit one is used as given.
		{name: "flush interval, embedded default", check: func(t *testing.T, c Config) {
			if c.FlushInterval != 5*time.Second {
				t.Errorf("flush interval %v, want 5s", c.FlushInterval)
			}
		}},
		{name: "flush interval, PostgreSQL default", args: []string{"--store", "postgres://u@127.0.0.1:5432/db", "--master-key-file", "/nonexistent/master.key"}, check: func(t *testing.T, c Config) {
			if c.FlushInterval != time.Second {
				t.Errorf("flush interval %v, want 1s", c.FlushInterval)
			}
		}},
		{name: "flush interval given", args: []string{"--usage-flush-interval", "250ms"}, check: func(t *testing.T, c Config) {
			if c.FlushInterval != 250*time.Millisecond {
				t.Errorf("flush interval %v", c.FlushInterval)
			}
		}},
		{name: "flush interval from env on PostgreSQL", args: []string{"--store", "postgres://u@127.0.0.1:5432/db", "--master-key-file", "/nonexistent/master.key"}, env: map[string]string{"TOLLGATE_USAGE_FLUSH_INTERVAL": "3s"}, check: func(t *testing.T, c Config) {
			if c.FlushInterval != 3*time.Second {
				t.Errorf("flush interval %v", c.FlushInterval)
			}
		}},
		{name: "flush interval zero", args: []string{"--usage-flush-interval", "0s"}, wantErr: "must be positive"},
		{name: "flush interval negative", env: map[string]string{"TOLLGATE_USAGE_FLUSH_INTERVAL": "-1s"}, wantErr: "must be positive"},
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

// TestUsageShowsTypes: -h names each flag's type (not "string" for everything) and bool flags
// take no value.
func TestUsageShowsTypes(t *testing.T) {
	var out strings.Builder
	if _, err := Load("serve", []string{"-h"}, env(nil), &out); err == nil {
		t.Fatal("-h did not stop Load")
	}
	for _, want := range []string{"--max-skew duration\n", "--account-burst-limit int\n", "--account-rate-limit float\n",
		"--ratelimit-headers\n", "--insecure-skip-auth\n", "--addr string\n", "TOLLGATE_RATELIMIT_HEADERS"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-h lacks %q:\n%s", want, out.String())
		}
	}
}

// TestBadFlagIsOneError: a bad or unknown flag gives one error naming it, not the whole option
// list (which -h alone prints) with the error buried above it.
func TestBadFlagIsOneError(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--max-skew", "soon"}, "-max-skew: not a valid duration"},
		{[]string{"--quota-fail-open=maybe"}, "-quota-fail-open: not a valid bool"},
		{[]string{"--account-rate-limit", "fast"}, "-account-rate-limit: not a valid float"},
		{[]string{"--max-resources-per-api", "1.5"}, "-max-resources-per-api: not a valid int"},
		{[]string{"--ratelimit-header"}, "not defined: -ratelimit-header"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out strings.Builder
			_, err := Load("serve", tc.args, env(nil), &out)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "tollgate serve -h") {
				t.Fatalf("err = %v, want it to contain %q and point to -h", err, tc.want)
			}
			if out.Len() > 0 {
				t.Fatalf("a bad flag printed the usage:\n%s", out.String())
			}
		})
	}
}
