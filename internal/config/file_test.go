package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tollgate.yaml")
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, mode)
	return p
}

// TestConfigFile: keys are the flag names; flag > env > file > default; errors name the line.
func TestConfigFile(t *testing.T) {
	good := writeConfig(t, "# a comment\naddr: 127.0.0.1:7000\nregion: eu-west-1\nmax-skew: 90s\nratelimit-headers: true\nmax-resources-per-api: 42\n", 0o644)
	c, err := Load("serve", []string{"--config", good}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:7000" || c.Region != "eu-west-1" || c.MaxSkew != 90*time.Second || !c.RateLimitHeaders || c.MaxResourcesPerAPI != 42 || c.ConfigFile != good {
		t.Errorf("file not applied: %+v", c)
	}
	c, err = Load("serve", []string{"--addr", "127.0.0.1:7001"}, env(map[string]string{"TOLLGATE_CONFIG": good, "TOLLGATE_REGION": "ap-south-1"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:7001" || c.Region != "ap-south-1" || c.MaxSkew != 90*time.Second {
		t.Errorf("precedence flag > env > file: addr %s region %s skew %v", c.Addr, c.Region, c.MaxSkew)
	}
	secretOK := writeConfig(t, "access-key-id: AK\nsecret-access-key: SK\n", 0o600)
	if c, err := Load("serve", []string{"--config", secretOK}, env(nil), io.Discard); err != nil || c.AccessKeyID != "AK" || c.DefaultCredentials {
		t.Errorf("credentials from a 0600 file: %+v, %v", c, err)
	}
	for _, tc := range []struct {
		name, content, want string
		mode                os.FileMode
	}{
		{"unknown key", "addr: 127.0.0.1:1\nadress: x\n", `line 2: unknown key "adress"`, 0o644},
		{"nested value", "addr:\n  host: x\n", "line 2: addr must be a single value", 0o644},
		{"bad value", "region: eu-west-1\nmax-skew: soon\n", "tollgate.yaml line 2: invalid value \"soon\"", 0o644},
		{"not a mapping", "- addr\n", "line 1: want a mapping", 0o644},
		{"set twice", "region: eu-west-1\nregion: us-west-2\n", "line 2: region is set twice", 0o644},
		{"secret in a readable file", "secret-access-key: SK\n", "line 1: secret-access-key is a secret", 0o644},
		{"not YAML", "addr: [\n", "not YAML", 0o644},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeConfig(t, tc.content, tc.mode)
			_, err := Load("check-config", []string{"--config", p}, env(nil), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "SK") {
				t.Fatalf("the error quotes a secret: %v", err)
			}
		})
	}
	if _, err := Load("serve", []string{"--config", "/nonexistent/tollgate.yaml"}, env(nil), io.Discard); err == nil {
		t.Error("a missing config file was accepted")
	}
}

// FuzzConfigFile: any content either parses into known option names with scalar values, or is
// refused with an error that names the file; never a panic.
func FuzzConfigFile(f *testing.F) {
	f.Add("addr: 127.0.0.1:1\nregion: eu-west-1\n")
	f.Add("secret-access-key: hunter2\n")
	f.Add("addr:\n  - x\n")
	f.Add("? [a]\n: b\n")
	f.Fuzz(func(t *testing.T, content string) {
		vals, err := parseFile("f.yaml", []byte(content), 0o644)
		if err != nil {
			if !strings.Contains(err.Error(), "f.yaml") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		for k := range vals {
			known := false
			for _, o := range options {
				known = known || o.name == k
			}
			if !known {
				t.Fatalf("accepted unknown key %q", k)
			}
		}
	})
}
