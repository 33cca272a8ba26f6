package e2e

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
)

// TestKillNineKeepsUsage: kill -9 a node under load and restart it on the same data directory;
// GetUsage then reports every request clients got a 200 for. The usage flush interval is an
// hour, so without the usage journal everything the killed node admitted would be lost: the
// test measures the journal, not a lucky flush.
//
// Requests in flight at the kill were admitted (and counted) but their answers never reached the
// client, so GetUsage may exceed the 200s by at most the killed node's concurrent clients.
func TestKillNineKeepsUsage(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nodes int
		env   func(t *testing.T) []string
	}{
		{"sqlite", 1, func(*testing.T) []string { return nil }},
		{"postgres three nodes", 3, func(t *testing.T) []string {
			return []string{"TOLLGATE_STORE=" + postgresDSN(t), masterKeyEnv(t)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := append(tc.env(t), "TOLLGATE_USAGE_FLUSH_INTERVAL=1h")
			var nodes []*server
			for range tc.nodes {
				nodes = append(nodes, startServer(t, "", env...))
			}
			c := nodes[0].client("us-east-1")
			g := buildGatewayAPI(t, c, "dev")
			plan, keyID, key := planWithKey(t, c, g, apigateway.CreateUsagePlanInput{})
			for i, s := range nodes {
				eventually(t, 10*time.Second, fmt.Sprintf("key admitted on node %d", i+1), func() bool {
					st, _ := callKey(s, g, "/mock", key)
					return st == 200
				})
			}
			var warmup int64 = int64(len(nodes)) // one 200 per node above (each counted)

			// 16 clients per node for 1.5 s; the last node is killed after 1 s.
			const perNode = 16
			victim := nodes[len(nodes)-1]
			var ok, failed atomic.Int64
			deadline := time.Now().Add(1500 * time.Millisecond)
			var wg sync.WaitGroup
			for i, s := range nodes {
				for range perNode {
					wg.Go(func() {
						for time.Now().Before(deadline) {
							st, err := callKey(s, g, "/mock", key)
							switch {
							case err != nil:
								failed.Add(1)
								time.Sleep(10 * time.Millisecond)
							case st == 200:
								ok.Add(1)
							case st == 429: // the account's throttle: not admitted, not counted
							default:
								t.Errorf("node %d: status %d", i+1, st)
								return
							}
						}
					})
				}
			}
			time.Sleep(time.Second)
			victim.Kill()
			wg.Wait()
			if failed.Load() == 0 {
				t.Fatal("no request failed: the node was not killed under load")
			}

			// The victim comes back on its data directory and flushes its journal before it
			// serves; the others flush on a graceful stop.
			restarted := startServer(t, victim.DataDir, env...)
			for _, s := range nodes[:len(nodes)-1] {
				s.Stop()
			}
			today := time.Now().UTC().Format("2006-01-02")
			u, err := restarted.client("us-east-1").GetUsage(ctx(t), &apigateway.GetUsageInput{UsagePlanId: aws.String(plan),
				StartDate: aws.String(today), EndDate: aws.String(today), KeyId: aws.String(keyID)})
			if err != nil {
				t.Fatal(err)
			}
			got := u.Items[keyID][0][0]
			want := ok.Load() + warmup
			t.Logf("%d answered 200, GetUsage %d, %d failed around the kill", want, got, failed.Load())
			if got < want || got > want+perNode {
				t.Fatalf("GetUsage = %d after kill -9 and restart; clients got %d 200s (at most %d more were in flight)", got, want, perNode)
			}
		})
	}
}
