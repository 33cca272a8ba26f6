package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/jackc/pgx/v5"
	"github.com/tollgate/tollgate/test/harness"
)

// masterKeyEnv writes a master key file the nodes of one test share (a PostgreSQL store needs
// one: every node must seal and open key values with the same key) and returns its variable.
func masterKeyEnv(t *testing.T) string {
	return "TOLLGATE_MASTER_KEY_FILE=" + harness.MasterKeyFile(t)
}

// postgresDSN returns a DSN for a fresh database of its own, dropped when the test ends. Without a
// reachable PostgreSQL the test is skipped, except under CI, where the service must be there.
func postgresDSN(t *testing.T) string {
	t.Helper()
	admin := os.Getenv("TOLLGATE_TEST_POSTGRES")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(c, admin)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL unreachable at %s: %v", admin, err)
		}
		t.Skipf("PostgreSQL unreachable (%v); set TOLLGATE_TEST_POSTGRES", err)
	}
	conn.Close(context.Background())
	return harness.FreshDatabase(t, admin)
}

// eventually polls fn until it returns true or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, fn func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if fn() {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v", what, within)
	return 0
}

// TestThreeNodes runs three tollgate processes on one PostgreSQL database: configuration made on
// one node works on the others, a quota of N admits exactly N across the nodes, a kill -9 of a
// node never leads to more than N, and GetUsage on any node equals the sum admitted.
func TestThreeNodes(t *testing.T) {
	dsn, keyEnv := postgresDSN(t), masterKeyEnv(t)
	var nodes []*server
	for i := 0; i < 3; i++ {
		nodes = append(nodes, startServer(t, "", "TOLLGATE_STORE="+dsn, keyEnv, "TOLLGATE_USAGE_FLUSH_INTERVAL=200ms"))
	}
	c1 := nodes[0].client("us-east-1")
	g := buildGatewayAPI(t, c1, "dev")
	const n = 300
	plan, keyID, key := planWithKey(t, c1, g, apigateway.CreateUsagePlanInput{Quota: &types.QuotaSettings{Limit: n, Period: types.QuotaPeriodTypeMonth}})

	// A key created on node 1 works on nodes 3 and 2 within the propagation bound (403 until
	// then; each 200 uses one request of the quota).
	d := eventually(t, 10*time.Second, "key created on node 1 admitted by node 3", func() bool {
		st, _ := callKey(nodes[2], g, "/mock", key)
		return st == 200
	})
	t.Logf("configuration visible on node 3 after %v", d)
	eventually(t, 10*time.Second, "key admitted by node 2", func() bool {
		st, _ := callKey(nodes[1], g, "/mock", key)
		return st == 200
	})
	// Plans and keys are readable from every node at once (one database).
	if _, err := nodes[1].client("us-east-1").GetUsagePlan(ctx(t), &apigateway.GetUsagePlanInput{UsagePlanId: aws.String(plan)}); err != nil {
		t.Fatal(err)
	}

	// 64 clients spread over the nodes; each keeps calling well past the quota so every node
	// keeps consuming the leases it holds.
	admitted, limited := spread(t, nodes, g, key, 64, 12, false, nil)
	if admitted != n-2 { // the two propagation checks above admitted one each
		t.Fatalf("admitted %d across three nodes, want exactly %d (limited %d)", admitted+2, n, limited)
	}
	// GetUsage on any node converges to the exact sum once every node has flushed.
	today := time.Now().UTC().Format("2006-01-02")
	for i, s := range nodes {
		eventually(t, 10*time.Second, fmt.Sprintf("GetUsage on node %d", i+1), func() bool {
			u, err := s.client("us-east-1").GetUsage(ctx(t), &apigateway.GetUsageInput{UsagePlanId: aws.String(plan),
				StartDate: aws.String(today), EndDate: aws.String(today), KeyId: aws.String(keyID)})
			return err == nil && len(u.Items[keyID]) == 1 && u.Items[keyID][0][0] == n
		})
	}
	// UpdateUsage on node 1 grants 2 more; node 3 admits exactly those 2 once the change arrives.
	if _, err := c1.UpdateUsage(ctx(t), &apigateway.UpdateUsageInput{UsagePlanId: aws.String(plan), KeyId: aws.String(keyID),
		PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/remaining"), Value: aws.String("2")}}}); err != nil {
		t.Fatal(err)
	}
	got := 0
	eventually(t, 10*time.Second, "the extension admitted on node 3", func() bool {
		if st, _ := callKey(nodes[2], g, "/mock", key); st == 200 {
			got++
		}
		return got == 2
	})
	for i := 0; i < 5; i++ {
		if st, _ := callKey(nodes[i%3], g, "/mock", key); st != 429 {
			t.Fatalf("after the extension was used: status %d, want 429", st)
		}
	}
}

// TestTwoNodesImport: an import on one node (500 keys: more than the change log writes a row
// each for, so it lists them in one) reaches another node through PostgreSQL's change feed as
// a delta: that node admits the imported keys without rebuilding its snapshot.
func TestTwoNodesImport(t *testing.T) {
	dsn, keyEnv := postgresDSN(t), masterKeyEnv(t)
	status := freePort(t)
	n1 := startServer(t, "", "TOLLGATE_STORE="+dsn, keyEnv)
	n2 := &server{harness.Start(t, harness.Options{Env: []string{"TOLLGATE_STORE=" + dsn, keyEnv}, Args: []string{"--status-addr", status}})}
	c1 := n1.client("us-east-1")
	g := buildGatewayAPI(t, c1, "dev")
	plan, _, key := planWithKey(t, c1, g, apigateway.CreateUsagePlanInput{})
	eventually(t, 10*time.Second, "the first key admitted by node 2", func() bool {
		st, _ := callKey(n2, g, "/mock", key)
		return st == 200
	})
	swaps, _ := value(scrape(t, status), "tollgate_snapshot_swaps_total", nil)

	const n = 500
	var csv strings.Builder
	csv.WriteString("Name,Key,Enabled,UsagePlanIds\n")
	for i := range n {
		fmt.Fprintf(&csv, "imported%d,imported-key-value-%06d-0123456789,true,%s\n", i, i, plan)
	}
	out, err := c1.ImportApiKeys(ctx(t), &apigateway.ImportApiKeysInput{Body: []byte(csv.String()), Format: types.ApiKeysFormatCsv, FailOnWarnings: true})
	if err != nil || len(out.Ids) != n {
		t.Fatalf("ImportApiKeys: %v (%d ids)", err, len(out.Ids))
	}
	for _, i := range []int{n - 1, 0, n / 2} {
		eventually(t, 10*time.Second, fmt.Sprintf("imported key %d admitted by node 2", i), func() bool {
			st, _ := callKey(n2, g, "/mock", fmt.Sprintf("imported-key-value-%06d-0123456789", i))
			return st == 200
		})
	}
	if after, _ := value(scrape(t, status), "tollgate_snapshot_swaps_total", nil); after != swaps {
		t.Errorf("node 2 rebuilt its snapshot %v times for the import; want it applied in place", after-swaps)
	}
}

// TestThreeNodesKill: kill -9 one node while 64 clients run against the quota; the total admitted
// never exceeds N.
func TestThreeNodesKill(t *testing.T) {
	dsn, keyEnv := postgresDSN(t), masterKeyEnv(t)
	var nodes []*server
	for i := 0; i < 3; i++ {
		nodes = append(nodes, startServer(t, "", "TOLLGATE_STORE="+dsn, keyEnv))
	}
	c1 := nodes[0].client("us-east-1")
	g := buildGatewayAPI(t, c1, "dev")
	const n = 400
	_, _, key := planWithKey(t, c1, g, apigateway.CreateUsagePlanInput{Quota: &types.QuotaSettings{Limit: n, Period: types.QuotaPeriodTypeMonth}})
	for _, s := range nodes[1:] {
		s := s
		eventually(t, 10*time.Second, "configuration on every node", func() bool {
			st, _ := callKey(s, g, "/mock", key)
			return st == 200
		})
	}
	var killOnce sync.Once
	admitted, _ := spread(t, nodes, g, key, 64, 12, true, func(w, i int) {
		if w == 0 && i == 3 {
			killOnce.Do(nodes[2].Kill)
		}
	})
	// The first checks above admitted 2 more.
	if total := admitted + 2; total > n {
		t.Fatalf("admitted %d in total with a node killed, quota is %d", total, n)
	}
	t.Logf("admitted %d of %d with one node killed mid-run (its unused lease is lost)", admitted+2, n)
}

// spread sends `each` requests from each of `workers` concurrent clients, rotating over the
// nodes, and counts 200s and 429s. before, if set, runs before each request (the kill test uses
// it); with tolerateDown, requests to a node that is gone are skipped instead of failing.
func spread(t *testing.T, nodes []*server, g *gwAPI, key string, workers, each int, tolerateDown bool, before func(w, i int)) (admitted, limited int64) {
	t.Helper()
	var ok, lim atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if before != nil {
					before(w, i)
				}
				st, err := callKey(nodes[(w+i)%len(nodes)], g, "/mock", key)
				switch {
				case err != nil && tolerateDown:
					continue
				case err != nil:
					t.Error(err)
					return
				case st == 200:
					ok.Add(1)
				case st == 429:
					lim.Add(1)
				default:
					t.Errorf("status %d", st)
				}
			}
		}(w)
	}
	wg.Wait()
	return ok.Load(), lim.Load()
}

// callKey invokes the gateway and returns the status (err when the node is unreachable).
func callKey(s *server, g *gwAPI, path, key string) (int, error) {
	req, err := http.NewRequest("GET", s.Endpoint+"/restapis/"+g.ID+"/"+g.Stage+"/_user_request_"+path, nil)
	if err != nil {
		return 0, err
	}
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// redisURL returns the Redis the tests use; without one the test is skipped, except under CI.
func redisURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("TOLLGATE_TEST_REDIS")
	if u == "" {
		u = "redis://127.0.0.1:6379/0"
	}
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	if err := redisReachable(pu.Host); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis unreachable at %s: %v", pu.Host, err)
		}
		t.Skipf("Redis unreachable (%v); set TOLLGATE_TEST_REDIS", err)
	}
	return u
}

// redisReachable dials the test Redis once per test binary, with a short timeout, so that a
// stopped server costs each test nothing.
var redisReachable = func() func(host string) error {
	var once sync.Once
	var err error
	return func(host string) error {
		once.Do(func() {
			var conn net.Conn
			if conn, err = net.DialTimeout("tcp", host, 500*time.Millisecond); err == nil {
				conn.Close()
			}
		})
		return err
	}
}()

// TestThreeNodesSharedThrottle: a plan throttle of burst B with a refill too slow to matter
// admits exactly B across three nodes through Redis, and at most B (each node its share) without.
func TestThreeNodesSharedThrottle(t *testing.T) {
	for _, mode := range []string{"redis", "split"} {
		t.Run(mode, func(t *testing.T) {
			dsn, keyEnv := postgresDSN(t), masterKeyEnv(t)
			env := []string{"TOLLGATE_STORE=" + dsn, keyEnv}
			if mode == "redis" {
				// A loaded CI machine can miss the 50 ms default, and the node would then fall back
				// to its own bucket by design; this test is about the shared path.
				env = append(env, "TOLLGATE_COUNTERS="+redisURL(t), "TOLLGATE_COUNTERS_DEADLINE=2s")
			}
			var nodes []*server
			for i := 0; i < 3; i++ {
				nodes = append(nodes, startServer(t, "", env...))
			}
			c1 := nodes[0].client("us-east-1")
			g := buildGatewayAPI(t, c1, "dev")
			const burst = 12
			_, _, key := planWithKey(t, c1, g, apigateway.CreateUsagePlanInput{Throttle: &types.ThrottleSettings{RateLimit: 0.0001, BurstLimit: burst}})
			for _, s := range nodes {
				s := s
				if mode == "split" {
					eventually(t, 10*time.Second, "every node counting three live nodes", func() bool {
						return strings.Contains(s.Log(), "live=3")
					})
				}
			}
			// The key reaches every node: one admitted request each (403 until then, which costs
			// nothing), so the burst has 3 fewer tokens left.
			for _, s := range nodes {
				s := s
				eventually(t, 10*time.Second, "the key on every node", func() bool {
					st, _ := callKey(s, g, "/mock", key)
					return st == 200
				})
			}
			admitted, _ := spread(t, nodes, g, key, 30, 3, false, nil)
			switch {
			case mode == "redis" && admitted != burst-3:
				t.Fatalf("Redis mode admitted %d more, want exactly the rest of the burst, %d", admitted, burst-3)
			case mode == "split" && (admitted > burst-3 || admitted < 3):
				t.Fatalf("split mode admitted %d more, want between 3 and %d", admitted, burst-3)
			}
			t.Logf("%s mode: admitted %d+3 of 93 against a burst of %d", mode, admitted, burst)
		})
	}
}
