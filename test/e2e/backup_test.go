package e2e

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/tollgate/tollgate/test/harness"
)

// storeState is everything a backup must carry, as the management API reports it.
type storeState struct {
	Keys     []types.ApiKey
	Plans    []types.UsagePlan
	PlanKeys []types.UsagePlanKey
	Usage    map[string][][]int64
}

func readState(t *testing.T, c *apigateway.Client, plan string) storeState {
	t.Helper()
	var st storeState
	keys, err := c.GetApiKeys(ctx(t), &apigateway.GetApiKeysInput{IncludeValues: aws.Bool(true), Limit: aws.Int32(500)})
	if err != nil {
		t.Fatal(err)
	}
	plans, err := c.GetUsagePlans(ctx(t), &apigateway.GetUsagePlansInput{})
	if err != nil {
		t.Fatal(err)
	}
	pk, err := c.GetUsagePlanKeys(ctx(t), &apigateway.GetUsagePlanKeysInput{UsagePlanId: aws.String(plan), Limit: aws.Int32(500)})
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC().Format("2006-01-02")
	u, err := c.GetUsage(ctx(t), &apigateway.GetUsageInput{UsagePlanId: aws.String(plan), StartDate: aws.String(today), EndDate: aws.String(today)})
	if err != nil {
		t.Fatal(err)
	}
	st.Keys, st.Plans, st.PlanKeys, st.Usage = keys.Items, plans.Items, pk.Items, u.Items
	return st
}

func (s storeState) json() string {
	b, _ := json.MarshalIndent(s, "", " ")
	return string(b)
}

// TestBackupRestore: `tollgate backup` copies the embedded store while the server serves traffic;
// `tollgate restore` puts a copy in place of a stopped node's store; a server on the restored
// directory reports every key (values included), plan, plan key and usage row the original
// reported. Restore refuses a directory a server is using and a file that is not a Tollgate
// store, changing nothing; backup refuses a PostgreSQL store.
func TestBackupRestore(t *testing.T) {
	src := t.TempDir()
	// A flush every second, so that the backup under load below holds some usage (the embedded
	// store's default is 5 s).
	s := &server{harness.Start(t, harness.Options{DataDir: src, Args: []string{"--usage-flush-interval", "1s"}})}
	c := s.client("us-east-1")
	g := buildGatewayAPI(t, c, "prod")
	plan, _, key := planWithKey(t, c, g, apigateway.CreateUsagePlanInput{
		Quota: &types.QuotaSettings{Limit: 1_000_000, Period: types.QuotaPeriodTypeMonth}})
	keys := []string{key}
	for i := 0; i < 20; i++ {
		k, err := c.CreateApiKey(ctx(t), &apigateway.CreateApiKeyInput{Name: aws.String(fmt.Sprintf("customer-%d", i)), Enabled: true,
			CustomerId: aws.String(fmt.Sprintf("c%d", i))})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateUsagePlanKey(ctx(t), &apigateway.CreateUsagePlanKeyInput{UsagePlanId: aws.String(plan), KeyId: k.Id, KeyType: aws.String("API_KEY")}); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, *k.Value)
	}

	// Traffic on every key while the first backup is taken.
	var admitted atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("GET", s.Endpoint+"/restapis/"+g.ID+"/prod/_user_request_/items/x", nil)
				req.Header.Set("x-api-key", keys[i%len(keys)])
				if resp, err := http.DefaultClient.Do(req); err == nil {
					if resp.StatusCode == 200 {
						admitted.Add(1)
					}
					resp.Body.Close()
				}
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond) // past a usage flush (1 s)
	underLoad := filepath.Join(t.TempDir(), "under-load.db")
	out, code := harness.Run(t, nil, "backup", "--data-dir", src, "--out", underLoad)
	atBackup := admitted.Load()
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	if code != 0 || !strings.Contains(out, "backed up") || !strings.Contains(out, "master key") {
		t.Fatalf("backup under load: exit %d\n%s", code, out)
	}
	if atBackup == 0 {
		t.Fatal("no traffic was admitted before the backup")
	}
	if st, err := os.Stat(underLoad); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("backup file mode: %v %v", st, err)
	}
	want := readState(t, c, plan)
	idle := filepath.Join(t.TempDir(), "idle.db")
	if out, code := harness.Run(t, nil, "backup", "--data-dir", src, "--out", idle); code != 0 {
		t.Fatalf("backup: exit %d\n%s", code, out)
	}
	s.Stop()

	restoreInto := func(file string) string {
		dir := t.TempDir()
		key, err := os.ReadFile(filepath.Join(src, "master.key"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "master.key"), key, 0o600); err != nil {
			t.Fatal(err)
		}
		if out, code := harness.Run(t, nil, "restore", "--data-dir", dir, "--from", file); code != 0 || !strings.Contains(out, "restored") {
			t.Fatalf("restore: exit %d\n%s", code, out)
		}
		return dir
	}

	// The idle backup holds exactly what the original served.
	dir := restoreInto(idle)
	r := &server{harness.Start(t, harness.Options{DataDir: dir})}
	if got := readState(t, r.client("us-east-1"), plan); got.json() != want.json() {
		t.Errorf("restored state differs:\n got %s\nwant %s", got.json(), want.json())
	}
	// The restored keys work on the data plane.
	if code, _, _ := call(t, r, g, "GET", "/items/x", keys[5]); code != 200 {
		t.Errorf("restored key = %d", code)
	}
	// Restore refuses a directory in use, and leaves it alone.
	if out, code := harness.Run(t, nil, "restore", "--data-dir", dir, "--from", idle); code == 0 || !strings.Contains(out, "in use") {
		t.Errorf("restore onto a running node: exit %d\n%s", code, out)
	}
	r.Stop()

	// The backup taken under load is a consistent store: same configuration, and usage between
	// nothing and what the original finally counted.
	dir = restoreInto(underLoad)
	r = &server{harness.Start(t, harness.Options{DataDir: dir})}
	got := readState(t, r.client("us-east-1"), plan)
	r.Stop()
	if len(got.Keys) != len(want.Keys) || len(got.PlanKeys) != len(want.PlanKeys) || len(got.Plans) != len(want.Plans) {
		t.Errorf("under-load backup: %d keys, %d plan keys, %d plans; want %d, %d, %d", len(got.Keys), len(got.PlanKeys), len(got.Plans), len(want.Keys), len(want.PlanKeys), len(want.Plans))
	}
	var used, final int64
	for id, days := range got.Usage {
		used += days[0][0]
		if days[0][0] > want.Usage[id][0][0] {
			t.Errorf("key %s: %d used in the backup, more than the final %d", id, days[0][0], want.Usage[id][0][0])
		}
	}
	for _, days := range want.Usage {
		final += days[0][0]
	}
	if used == 0 || used > final {
		t.Errorf("under-load backup counts %d requests; the original counted %d in all", used, final)
	}

	// A file that is not a Tollgate store is refused, and the store is unchanged.
	junk := filepath.Join(t.TempDir(), "junk.db")
	_ = os.WriteFile(junk, []byte("not a database at all"), 0o600)
	before := fileSum(t, filepath.Join(dir, "tollgate.db"))
	if out, code := harness.Run(t, nil, "restore", "--data-dir", dir, "--from", junk); code == 0 || !strings.Contains(out, "not a SQLite database") {
		t.Errorf("restore of junk: exit %d\n%s", code, out)
	}
	if after := fileSum(t, filepath.Join(dir, "tollgate.db")); after != before {
		t.Error("a refused restore changed the store")
	}
	// PostgreSQL is pg_dump's job.
	if out, code := harness.Run(t, []string{"TOLLGATE_MASTER_KEY_FILE=" + filepath.Join(src, "master.key")},
		"backup", "--store", "postgres://127.0.0.1:1/x", "--out", filepath.Join(t.TempDir(), "pg.db")); code == 0 || !strings.Contains(out, "pg_dump") {
		t.Errorf("backup of a PostgreSQL store: exit %d\n%s", code, out)
	}
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}
