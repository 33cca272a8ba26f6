package security

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/test/harness"
)

// TestCheckConfig (finding 7): check-config catches what serve would refuse or trip on, without
// starting anything — a bad port, the gateway listener on the main one, a data directory that
// cannot be written — and warns (exit 0) of a Redis that does not answer. Bool flags need no
// value.
func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	typo := filepath.Join(dir, "typo.yaml")
	if err := os.WriteFile(typo, []byte("addr: 127.0.0.1:4566\nratelimit-header: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("region: eu-west-1\nratelimit-headers: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
		deny string // must not be in the output ("" = no check)
	}{
		{"ok", []string{"--data-dir", dir}, 0, "configuration OK", ""},
		{"bool flags alone", []string{"--data-dir", dir, "--ratelimit-headers", "--quota-fail-open"}, 0, "configuration OK", ""},
		{"port out of range", []string{"--data-dir", dir, "--addr", "127.0.0.1:99999"}, 1, "not a number from 0 to 65535", ""},
		{"port not a number", []string{"--data-dir", dir, "--addr", "127.0.0.1:http"}, 1, "not a number from 0 to 65535", ""},
		{"gateway on the main listener", []string{"--data-dir", dir, "--addr", "127.0.0.1:4566", "--gateway-addr", "127.0.0.1:4566"}, 1, "is --addr", ""},
		{"data directory under a file", []string{"--data-dir", filepath.Join(file, "data")}, 1, "not a directory", ""},
		{"data directory not writable", []string{"--data-dir", "/proc/tollgate-data"}, 1, "is not writable", ""},
		// One warning line: no go-redis pool log around it.
		{"redis does not answer", []string{"--data-dir", dir, "--counters", "redis://127.0.0.1:1/0"}, 0, "warning: Redis at 127.0.0.1:1 does not answer", "connection pool"},
		// The error alone, naming the flag, not buried under the option list.
		{"bad duration", []string{"--data-dir", dir, "--max-skew", "soon"}, 1, "-max-skew: not a valid duration", "Usage:"},
		{"config file with a typo", []string{"--data-dir", dir, "--config", typo}, 1, `typo.yaml line 2: unknown key "ratelimit-header"`, ""},
		{"config file", []string{"--data-dir", dir, "--config", good}, 0, "region=eu-west-1", ""},
		{"TLS key without certificate", []string{"--data-dir", dir, "--tls-key-file", file}, 1, "--tls-cert-file and --tls-key-file go together", ""},
		{"TLS files that are no certificate", []string{"--data-dir", dir, "--tls-cert-file", file, "--tls-key-file", file}, 1, "TLS certificate " + file, ""},
		{"access log in no directory", []string{"--data-dir", dir, "--access-log", filepath.Join(file, "access.log")}, 1, "--access-log", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, code := harness.Run(t, nil, append([]string{"check-config"}, c.args...)...)
			if code != c.code || !strings.Contains(out, c.want) || c.deny != "" && strings.Contains(out, c.deny) {
				t.Fatalf("exit %d, want %d with %q and without %q:\n%s", code, c.code, c.want, c.deny, out)
			}
		})
	}
	// serve refuses what check-config refused.
	out, code := harness.Run(t, nil, "serve", "--data-dir", dir, "--addr", "127.0.0.1:4566", "--gateway-addr", "127.0.0.1:4566")
	if code == 0 || !strings.Contains(out, "is --addr") {
		t.Fatalf("serve with --gateway-addr = --addr: exit %d\n%s", code, out)
	}
}
