package e2e

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// readmeBlock returns the shell block of README.md between the e2e:cli markers.
func readmeBlock(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "<!-- e2e:cli")
	end := strings.Index(s, "<!-- /e2e:cli -->")
	if start < 0 || end < start {
		t.Fatal("README.md has no e2e:cli block")
	}
	block := s[start:end]
	open := strings.Index(block, "```sh\n")
	closing := strings.LastIndex(block, "```")
	if open < 0 || closing <= open {
		t.Fatal("e2e:cli block has no ```sh fence")
	}
	return block[open+len("```sh\n") : closing]
}

// TestReadmeQuickStart runs the README's AWS CLI block, as written, against a fresh server (only
// the endpoint is replaced by the test server's), and checks what it created.
func TestReadmeQuickStart(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("AWS CLI not installed")
	}
	s := startServer(t, "")
	script := strings.ReplaceAll(readmeBlock(t), "http://127.0.0.1:4566", s.Endpoint)
	dir := t.TempDir()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README block failed: %v\n%s", err, out)
	}
	for _, want := range []string{`{"message":"Forbidden"}`, `{"hello":"world"}`, "200 200 200 200 429", "[\n                5,\n                0\n            ]",
		`"name": "alice"`, `"name": "bob"`, `"value": "bob-0123456789abcdefghij"`, `"type": "API_KEY"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}

	// The curl line of the README: an unsigned request is refused like AWS does.
	resp, err := http.Get(s.Endpoint + "/apikeys")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || string(body) != `{"message":"Missing Authentication Token"}` ||
		resp.Header.Get("X-Amzn-Errortype") != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned request: %d %s %q", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), body)
	}
}
