// Package e2e starts the real tollgate binary and drives it with real clients: aws-sdk-go-v2's
// apigateway client with SigV4 credentials, and the AWS CLI exactly as the README shows it.
package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
)

// binary is the tollgate executable built once for the whole package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tollgate-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "tollgate")
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	build := exec.Command("go", "build", "-o", binary, "./cmd/tollgate")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building tollgate:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is one running tollgate process.
type server struct {
	t        *testing.T
	cmd      *exec.Cmd
	Endpoint string // http://127.0.0.1:port
	DataDir  string
	logMu    sync.Mutex
	log      strings.Builder
	exited   chan struct{}
}

var listenRe = regexp.MustCompile(`tollgate listening"? addr=(\S+)`)

// startServer starts `tollgate serve` on a free loopback port with the given extra environment
// (TOLLGATE_…=…) and data dir ("" → a fresh temp dir), and waits until it listens.
func startServer(t *testing.T, dataDir string, env ...string) *server {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	s := &server{t: t, DataDir: dataDir, exited: make(chan struct{})}
	s.cmd = exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir)
	s.cmd.Env = append(os.Environ(), env...)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			s.logMu.Lock()
			s.log.WriteString(line + "\n")
			s.logMu.Unlock()
			if m := listenRe.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	select {
	case a := <-addr:
		s.Endpoint = "http://" + a
	case <-s.exited:
		t.Fatalf("tollgate exited before listening:\n%s", s.Log())
	case <-time.After(20 * time.Second):
		s.Kill()
		t.Fatalf("tollgate did not start listening:\n%s", s.Log())
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("server log:\n%s", s.Log())
		}
	})
	return s
}

// Log returns what the server has written to stderr so far.
func (s *server) Log() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.log.String()
}

// Stop sends SIGINT and waits for a graceful exit.
func (s *server) Stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.Kill()
	}
}

// Kill ends the process with SIGKILL.
func (s *server) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// client returns an aws-sdk-go-v2 API Gateway client for region signing with the given
// credentials (default test/test).
func (s *server) client(region string, creds ...string) *apigateway.Client {
	ak, sk := "test", "test"
	if len(creds) == 2 {
		ak, sk = creds[0], creds[1]
	}
	return apigateway.New(apigateway.Options{
		Region:           region,
		BaseEndpoint:     aws.String(s.Endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider(ak, sk, ""),
		RetryMaxAttempts: 1,
	})
}

// ctx returns a context bounded for one test step.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}
