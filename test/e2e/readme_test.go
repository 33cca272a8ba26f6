package e2e

import (
	"github.com/tollgate/tollgate/test/harness"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// readmeBlock returns the shell block of README.md between the e2e:cli markers.
func readmeBlock(t *testing.T) string { return readmeSection(t, "cli") }

// readmeSection returns the shell block of README.md between the e2e:<name> markers.
func readmeSection(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "<!-- e2e:"+name)
	end := strings.Index(s, "<!-- /e2e:"+name+" -->")
	if start < 0 || end < start {
		t.Fatalf("README.md has no e2e:%s block", name)
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

// TestReadmeAuthorizerWalkthrough runs the README's second walkthrough after the first, as
// written: examples/tokenauth as the Lambda Invoke API, the server started with
// --lambda-endpoint pointing at it, and the AWS CLI putting GET /hello behind a TOKEN authorizer
// that names bob's key.
func TestReadmeAuthorizerWalkthrough(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("AWS CLI not installed")
	}
	bin := filepath.Join(t.TempDir(), "tokenauth")
	if out, err := exec.Command("go", "build", "-o", bin, "../../examples/tokenauth").CombinedOutput(); err != nil {
		t.Fatalf("building examples/tokenauth: %v\n%s", err, out)
	}
	addr := freePort(t)
	fn := exec.Command(bin, "-addr", addr)
	fn.Env = append(os.Environ(), "TOKENS=s3cr3t-bob=bob-0123456789abcdefghij")
	if err := fn.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fn.Process.Kill(); _ = fn.Wait() })
	waitFor(t, func() bool {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	s := &server{harness.Start(t, harness.Options{Args: []string{"--lambda-endpoint", "http://" + addr}})}
	script := strings.ReplaceAll(readmeBlock(t)+"\n"+readmeSection(t, "authorizer"), "http://127.0.0.1:4566", s.Endpoint)
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README blocks failed: %v\n%s", err, out)
	}
	tail := string(out)[strings.LastIndex(string(out), `"type": "API_KEY"`):]
	for _, want := range []string{`{"message":"Unauthorized"}`, `{"hello":"world"}`, "[\n                1,\n                4\n            ]"} {
		if !strings.Contains(tail, want) {
			t.Errorf("walkthrough output lacks %s:\n%s", want, tail)
		}
	}
}
