// Package harness starts the real tollgate binary for black-box tests (test/e2e, test/security):
// it builds the binary once per test process, runs `tollgate serve` on a free loopback port,
// captures its log and hands out aws-sdk-go-v2 clients signed for it. Tests drive the process
// only through its network interfaces and its log, as a user would.
package harness

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

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// Binary builds ./cmd/tollgate once per test process and returns its path. A package using the
// harness should call Cleanup from its TestMain to remove it.
func Binary() (string, error) {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tollgate-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "tollgate")
		build := exec.Command("go", "build", "-o", binary, "./cmd/tollgate")
		build.Dir = Root()
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			buildErr = fmt.Errorf("building tollgate: %w", err)
		}
	})
	return binary, buildErr
}

// Cleanup removes the built binary.
func Cleanup() {
	if binary != "" {
		os.RemoveAll(filepath.Dir(binary))
	}
}

// Root is the repository's root directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Main is a TestMain body: build the binary, run the tests, remove the binary.
func Main(m *testing.M) {
	if _, err := Binary(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	Cleanup()
	os.Exit(code)
}

// Server is one running tollgate process.
type Server struct {
	t        *testing.T
	cmd      *exec.Cmd
	Endpoint string // http://127.0.0.1:port of the main listener
	DataDir  string
	logMu    sync.Mutex
	log      strings.Builder
	exited   chan struct{}
	exitErr  error
}

// Options configure Start.
type Options struct {
	DataDir string   // "" → a fresh temp dir
	Env     []string // extra environment, TOLLGATE_…=…
	Args    []string // extra flags after `serve --addr 127.0.0.1:0 --data-dir D`
}

// listenRe finds the main listener in a text ("msg=\"tollgate listening\" addr=…") or JSON
// ("\"msg\":\"tollgate listening\",\"addr\":\"…\"") log line.
var listenRe = regexp.MustCompile(`tollgate listening"?,?"? ?addr"?[=:]"?([^\s",]+)`)

// Start starts `tollgate serve` and waits until it listens; it is stopped when the test ends.
func Start(t *testing.T, o Options) *Server {
	t.Helper()
	s, err := start(t, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func start(t *testing.T, o Options) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	s := &Server{t: t, DataDir: o.DataDir, exited: make(chan struct{})}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", o.DataDir}, o.Args...)
	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = append(os.Environ(), o.Env...)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	addr := make(chan string, 1)
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
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
	go func() { <-logDone; s.exitErr = s.cmd.Wait(); close(s.exited) }()
	select {
	case a := <-addr:
		s.Endpoint = "http://" + a
	case <-s.exited:
		return nil, fmt.Errorf("tollgate exited before listening (%v):\n%s", s.exitErr, s.Log())
	case <-time.After(20 * time.Second):
		s.Kill()
		return nil, fmt.Errorf("tollgate did not start listening:\n%s", s.Log())
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("server log:\n%s", s.Log())
		}
	})
	return s, nil
}

// Run runs the tollgate binary with args to completion (a subcommand that exits) and returns its
// combined output and exit code.
func Run(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

// Log returns what the server has written to stderr so far.
func (s *Server) Log() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.log.String()
}

// Exited is closed once the process has exited.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// Pid is the process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Signal sends sig to the process.
func (s *Server) Signal(sig os.Signal) error { return s.cmd.Process.Signal(sig) }

// Stop sends SIGINT and waits for a graceful exit.
func (s *Server) Stop() {
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
func (s *Server) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// Client returns an aws-sdk-go-v2 API Gateway client for region signing with the given
// credentials (default test/test).
func (s *Server) Client(region string, creds ...string) *apigateway.Client {
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

// Ctx returns a context bounded for one test step.
func Ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}
