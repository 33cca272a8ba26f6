// Package packaging checks what ships around the binary — the Dockerfile, deploy/ and the
// README's install commands — against the binary itself, so that they cannot drift from it: no
// Docker daemon is needed (none is on the CI machines), only the files and the built binary.
package packaging

import (
	"bytes"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/tollgate/tollgate/internal/config"
	"github.com/tollgate/tollgate/test/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

func read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(harness.Root(), rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDockerfile: multi-stage, a static build of the README's package, a non-root numeric user, a
// data volume, a HEALTHCHECK through the binary (a scratch image has no curl) and only real
// TOLLGATE_ variables.
func TestDockerfile(t *testing.T) {
	df := read(t, "Dockerfile")
	var froms, users []string
	for _, line := range strings.Split(df, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, f[1])
		case "USER":
			users = append(users, f[1])
		}
	}
	if len(froms) < 2 {
		t.Errorf("not multi-stage: FROM %v", froms)
	}
	if last := froms[len(froms)-1]; last != "scratch" && !strings.Contains(last, "distroless") {
		t.Errorf("final image FROM %s, want scratch or distroless", last)
	}
	if len(users) == 0 || strings.HasPrefix(users[len(users)-1], "0") || strings.HasPrefix(users[len(users)-1], "root") {
		t.Errorf("USER %v: the image must run as a non-root user", users)
	}
	for _, want := range []string{"CGO_ENABLED=0", "go build", "-X main.version=", "-X main.commit=", "VOLUME", `HEALTHCHECK`, `"healthcheck"`} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	// The image builds the package the README installs.
	joined := strings.ReplaceAll(df, "\\\n", " ") // continuation lines
	build := regexp.MustCompile(`go build[^\n]*`).FindString(joined)
	if !strings.Contains(build, "./cmd/tollgate") {
		t.Errorf("the image's go build does not build ./cmd/tollgate: %q", build)
	}
	if !strings.Contains(read(t, "README.md"), "go install github.com/tollgate/tollgate/cmd/tollgate@latest") {
		t.Error("the README's install command does not name the package the image builds")
	}
	checkEnvNames(t, "Dockerfile", df)
}

var envRe = regexp.MustCompile(`TOLLGATE_[A-Z0-9_]+`)

// checkEnvNames fails for a TOLLGATE_ variable that is no option of the binary.
func checkEnvNames(t *testing.T, file, text string) {
	t.Helper()
	known := map[string]bool{}
	for _, n := range config.Names() {
		known[config.EnvName(n)] = true
	}
	for _, v := range envRe.FindAllString(text, -1) {
		if !known[v] {
			t.Errorf("%s uses %s, which is not an option of tollgate", file, v)
		}
	}
}

// TestDeployFiles: every deploy/ file parses, uses only real options (environment variables,
// flags, config-file keys), and the systemd unit passes systemd-analyze where it exists.
func TestDeployFiles(t *testing.T) {
	root := filepath.Join(harness.Root(), "deploy")
	flagRe := regexp.MustCompile(`--([a-z][a-z0-9-]+)`)
	names := config.Names()
	var seen int
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		seen++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(harness.Root(), path)
		checkEnvNames(t, rel, string(b))
		for _, line := range strings.Split(string(b), "\n") {
			if !strings.Contains(line, "tollgate serve") && !strings.Contains(line, "args:") {
				continue
			}
			for _, m := range flagRe.FindAllStringSubmatch(line, -1) {
				if !slices.Contains(names, m[1]) {
					t.Errorf("%s passes --%s, which is not an option of tollgate serve", rel, m[1])
				}
			}
		}
		if strings.HasSuffix(path, ".yml") || strings.HasSuffix(path, ".yaml") {
			dec := yaml.NewDecoder(bytes.NewReader(b))
			for {
				var doc any
				if err := dec.Decode(&doc); err != nil {
					if err.Error() != "EOF" {
						t.Errorf("%s: %v", rel, err)
					}
					break
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 4 {
		t.Errorf("deploy/ has %d files, want the systemd unit and its config, compose and Kubernetes", seen)
	}
	// The example config file is one tollgate accepts.
	out, code := harness.Run(t, []string{"TOLLGATE_ACCESS_KEY_ID=admin", "TOLLGATE_SECRET_ACCESS_KEY=secret"}, "check-config", "--config", filepath.Join(root, "systemd", "tollgate.yaml"), "--data-dir", t.TempDir(), "--access-log", "-")
	if code != 0 {
		t.Errorf("check-config of deploy/systemd/tollgate.yaml: exit %d\n%s", code, out)
	}
	if sa, err := exec.LookPath("systemd-analyze"); err == nil {
		bin, _ := harness.Binary()
		unit := strings.ReplaceAll(read(t, "deploy/systemd/tollgate.service"), "/usr/local/bin/tollgate", bin)
		p := filepath.Join(t.TempDir(), "tollgate.service")
		if err := os.WriteFile(p, []byte(unit), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(sa, "verify", p).CombinedOutput(); err != nil && strings.Contains(string(out), "tollgate.service") {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	} else {
		t.Log("systemd-analyze not installed: unit syntax not verified")
	}
	if !strings.Contains(read(t, "LICENSE"), "Apache License") || !strings.Contains(read(t, "LICENSE"), "Version 2.0") {
		t.Error("LICENSE is not the Apache License 2.0")
	}
}

// TestVersionStamp: a release build's -ldflags show in `tollgate version`.
func TestVersionStamp(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "tollgate")
	build := exec.Command("go", "build", "-o", bin, "-ldflags", "-X main.version=v1.2.3 -X main.commit=abc1234", "./cmd/tollgate")
	build.Dir = harness.Root()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "tollgate v1.2.3 (commit abc1234, go") {
		t.Errorf("version: %q %v", out, err)
	}
}

// TestHealthcheck: the image's HEALTHCHECK command exits 0 while /healthz answers and 1 when
// nothing does; without --url it follows TOLLGATE_STATUS_ADDR, an unspecified host included.
func TestHealthcheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	harness.Start(t, harness.Options{Args: []string{"--status-addr", addr}})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("status listener not up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, port, _ := net.SplitHostPort(addr)
	for _, c := range []struct {
		name string
		env  []string
		args []string
		code int
	}{
		{"url", nil, []string{"--url", "http://" + addr + "/healthz"}, 0},
		{"env", []string{"TOLLGATE_STATUS_ADDR=" + addr}, nil, 0},
		{"env, any host", []string{"TOLLGATE_STATUS_ADDR=0.0.0.0:" + port}, nil, 0},
		{"nothing listening", nil, []string{"--url", "http://127.0.0.1:1/healthz", "--timeout", "1s"}, 1},
		{"not 200", nil, []string{"--url", "http://" + addr + "/nope"}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			if out, code := harness.Run(t, c.env, append([]string{"healthcheck"}, c.args...)...); code != c.code {
				t.Errorf("exit %d, want %d\n%s", code, c.code, out)
			}
		})
	}
}
