package scale

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/gateway"
	"github.com/tollgate/tollgate/internal/meter"
	"github.com/tollgate/tollgate/internal/quota"
	"github.com/tollgate/tollgate/internal/quota/quotastore"
	"github.com/tollgate/tollgate/internal/snapshot"
	"github.com/tollgate/tollgate/internal/store"
	"github.com/tollgate/tollgate/internal/store/sqlite"
	"github.com/tollgate/tollgate/internal/store/storetest"
)

const region = "us-east-1"

// envInt reads a positive count from the environment, def when unset.
func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// fixture is a store with one API deployed on one stage and one usage plan (throttle + daily
// quota) covering it.
type fixture struct {
	st     *sqlite.Store
	path   string
	planID string
	apiID  string
}

func newFixture(b *testing.B, dir string) *fixture {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(dir, "tollgate.db")
	st, err := sqlite.Open(ctx, path, storetest.Keys)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	now := time.Now().UTC()
	f := &fixture{st: st, path: path, apiID: apigw.NewID(10), planID: apigw.NewID(6)}
	root := &apigw.Resource{ID: apigw.NewID(10), Methods: map[string]*apigw.Method{
		"GET": {HTTPMethod: "GET", AuthorizationType: "NONE", ApiKeyRequired: true},
	}}
	err = st.Update(ctx, region, func(tx store.Tx) error {
		api := &apigw.RestApi{ID: f.apiID, Name: "scale", CreatedDate: now, ApiKeySource: "HEADER",
			RootResourceID: root.ID, Resources: []*apigw.Resource{root}}
		if err := tx.PutRestApi(api); err != nil {
			return err
		}
		d := &apigw.Deployment{ID: apigw.NewID(6), ApiID: f.apiID, CreatedDate: now, Resources: api.Resources, ApiKeySource: "HEADER"}
		if err := tx.PutDeployment(d); err != nil {
			return err
		}
		if err := tx.PutStage(&apigw.Stage{ApiID: f.apiID, StageName: "prod", DeploymentID: d.ID, CreatedDate: now, LastUpdatedDate: now}); err != nil {
			return err
		}
		return tx.PutUsagePlan(&apigw.UsagePlan{ID: f.planID, Name: "scale", CreatedDate: now, QuotaSince: now,
			ApiStages: []apigw.ApiStage{{ApiID: f.apiID, Stage: "prod"}},
			Throttle:  &apigw.Throttle{RateLimit: 1000, BurstLimit: 2000},
			Quota:     &apigw.Quota{Limit: 1_000_000, Period: "DAY"}})
	})
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// addKeys writes n enabled keys, each in the fixture's plan, in one transaction, and returns
// their ids.
func (f *fixture) addKeys(b *testing.B, n int) []string {
	b.Helper()
	now := time.Now().UTC()
	ids := make([]string, 0, n)
	err := f.st.Update(context.Background(), region, func(tx store.Tx) error {
		ids = ids[:0]
		for i := range n {
			k := &apigw.ApiKey{ID: apigw.NewID(10), Value: apigw.NewApiKeyValue(), Name: fmt.Sprintf("key-%07d", i),
				Enabled: true, CreatedDate: now, LastUpdatedDate: now}
			if err := tx.PutApiKey(k); err != nil {
				return err
			}
			if err := tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: f.planID, KeyID: k.ID, CreatedDate: now}); err != nil {
				return err
			}
			ids = append(ids, k.ID)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return ids
}

// rss reads the process's resident set size from /proc (0 where it is not available).
func rss() uint64 { return procStatus("self", "VmRSS:") }

// rssAnon is the anonymous part of the RSS: the Go heap and SQLite's page cache, without the
// database file's mmapped pages.
func rssAnon() uint64 { return procStatus("self", "RssAnon:") }

// procStatus reads one kB field of /proc/<pid>/status in bytes (0 where it is not available).
func procStatus(pid, field string) uint64 {
	data, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// heapInUse forces a collection and returns the live heap.
func heapInUse() uint64 {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkLoadKeys populates a SQLite store with TOLLGATE_SCALE_KEYS keys (default 1,000,000)
// in one plan on one stage, then times what the data plane does at start and on every full
// rebuild: gateway.Load + snapshot.Build with the production binder (quota entries and usage
// counters per key). It reports the heap and RSS growth that the built snapshot holds, per key.
func BenchmarkLoadKeys(b *testing.B) {
	n := envInt(b, "TOLLGATE_SCALE_KEYS", 1_000_000)
	f := newFixture(b, b.TempDir())
	t0 := time.Now()
	f.addKeys(b, n)
	populate := time.Since(t0)

	ctx := context.Background()
	quotas := quota.New(quotastore.Ledger(f.st), quota.Options{})
	usage := meter.New(f.st, meter.Options{})
	binder := snapshot.Binder{
		States:     snapshot.NewKeyStates(),
		QuotaEntry: quotas.Entry,
		Meter:      usage,
	}
	for b.Loop() {
		heap0, rss0, anon0 := heapInUse(), rss(), rssAnon()
		stop := startCPUProfile(b)
		start := time.Now()
		in, err := gateway.Load(ctx, f.st, f.st, apigw.Throttle{RateLimit: 10000, BurstLimit: 5000}, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		loaded := time.Since(start)
		snap := snapshot.Build(in, binder)
		built := time.Since(start)
		stop()
		in = snapshot.Input{}
		heap1, rss1, anon1 := heapInUse(), rss(), rssAnon()
		writeHeapProfile(b)
		b.ReportMetric(built.Seconds(), "s/load+build")
		b.ReportMetric(float64(heap1-heap0)/float64(n), "heapB/key")
		b.ReportMetric(float64(rss1-min(rss0, rss1))/float64(n), "rssB/key")
		b.ReportMetric(float64(anon1-min(anon0, anon1))/float64(n), "anonB/key")
		b.Logf("keys=%d populate=%v load=%v build=%v total=%v heap=%d MB (+%d MB) rss=%d MB (+%d MB) anon=%d MB (+%d MB)",
			n, populate.Round(time.Millisecond), loaded.Round(time.Millisecond), (built - loaded).Round(time.Millisecond),
			built.Round(time.Millisecond), heap1>>20, (heap1-heap0)>>20, rss1>>20, (rss1-min(rss0, rss1))>>20, anon1>>20, (anon1-min(anon0, anon1))>>20)
		runtime.KeepAlive(snap)
		runtime.KeepAlive(in)
	}
	b.StopTimer()
	proj := projection(b, f, n)
	b.ReportMetric(proj.Seconds(), "s/projection")
}

// projection times the lower bound of a lighter load path: reading only what the snapshot keeps
// of a key (id, value, enabled) and the plan's key ids with plain SQL over the same file, with no
// JSON decode of full documents and no join. It is what a store method made for the data plane
// ("ListKeyIndex") could cost; the figure backs the recommendation in the issue report.
func projection(b *testing.B, f *fixture, n int) time.Duration {
	db, err := sql.Open("sqlite", f.path+"?mode=ro&_pragma=query_only(1)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	rows, err := db.Query(`SELECT id, value, json_extract(doc, '$.enabled') FROM api_keys WHERE region = ?`, region)
	if err != nil {
		b.Fatal(err)
	}
	type light struct {
		id, value string
		enabled   bool
	}
	keys := make([]light, 0, n)
	for rows.Next() {
		var k light
		if err := rows.Scan(&k.id, &k.value, &k.enabled); err != nil {
			b.Fatal(err)
		}
		keys = append(keys, k)
	}
	if err := rows.Close(); err != nil {
		b.Fatal(err)
	}
	rows, err = db.Query(`SELECT key_id FROM usage_plan_keys WHERE plan_id = ?`, f.planID)
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, 0, n)
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	if len(keys) != n || len(ids) != n {
		b.Fatalf("projection read %d keys and %d plan keys, want %d", len(keys), len(ids), n)
	}
	b.Logf("projection (id, value, enabled + plan key ids, plain SQL): %v", d.Round(time.Millisecond))
	return d
}

// startCPUProfile profiles the timed section only (not the population) into the file named by
// TOLLGATE_SCALE_CPUPROFILE, when set; the returned function stops it.
func startCPUProfile(b *testing.B) func() {
	path := os.Getenv("TOLLGATE_SCALE_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	out, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		b.Fatal(err)
	}
	return func() { pprof.StopCPUProfile(); _ = out.Close() }
}

// writeHeapProfile writes the heap profile to TOLLGATE_SCALE_MEMPROFILE, when set, after the
// collection that measured the heap: inuse_space is what the snapshot and the binder keep.
func writeHeapProfile(b *testing.B) {
	path := os.Getenv("TOLLGATE_SCALE_MEMPROFILE")
	if path == "" {
		return
	}
	out, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	if err := pprof.Lookup("heap").WriteTo(out, 0); err != nil {
		b.Fatal(err)
	}
}
