// Package e2e starts the real tollgate binary and drives it with real clients: aws-sdk-go-v2's
// apigateway client with SigV4 credentials, and the AWS CLI exactly as the README shows it.
package e2e

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/apigateway"

	"github.com/tollgate/tollgate/test/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

// server is one running tollgate process (see test/harness).
type server struct{ *harness.Server }

// startServer starts `tollgate serve` on a free loopback port with the given extra environment
// (TOLLGATE_…=…) and data dir ("" → a fresh temp dir), and waits until it listens.
func startServer(t *testing.T, dataDir string, env ...string) *server {
	t.Helper()
	return &server{harness.Start(t, harness.Options{DataDir: dataDir, Env: env})}
}

// client returns an API Gateway client for region (credentials default test/test).
func (s *server) client(region string, creds ...string) *apigateway.Client {
	return s.Client(region, creds...)
}

// ctx returns a context bounded for one test step.
func ctx(t *testing.T) context.Context { return harness.Ctx(t) }
