package scale

// TestScale measures the control plane at scale against the real binary: writes while a region
// holds N keys, memory per key, import and restart times. It is a measurement, not a test: it
// runs only when TOLLGATE_SCALE_KEYS is set, and prints every row with its figure.
//
//	TOLLGATE_SCALE_KEYS=1000000 go test ./bench/scale -run TestScale -v -timeout 60m
//
// TOLLGATE_SCALE_DIR, if set, is the data directory to use (empty) and keep.
// TOLLGATE_SCALE_STORE, if set, is a PostgreSQL DSN to measure on instead of the embedded store
// (a database of its own is created in it), e.g. postgres://postgres@127.0.0.1:5432/postgres.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
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

func rssMB(pid int) float64 { return statusMB(pid, "VmRSS:") }

// statusMB reads one memory line of /proc/PID/status in MB: VmRSS, or its parts RssAnon (heap,
// stacks) and RssFile (mapped files: the binary and SQLite's memory-mapped database).
func statusMB(pid int, field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	_, rest, ok := strings.Cut(string(b), field)
	if !ok {
		return 0
	}
	f := strings.Fields(rest)
	kb, _ := strconv.ParseFloat(f[0], 64)
	return kb / 1024
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// storeEnv is the server's environment for the store TOLLGATE_SCALE_STORE names: "" for the
// embedded store, or a PostgreSQL admin DSN, in which a fresh database is created for the run
// (and dropped after it).
func storeEnv(t *testing.T) ([]string, string) {
	admin := os.Getenv("TOLLGATE_SCALE_STORE")
	if admin == "" {
		return nil, "embedded store"
	}
	return []string{"TOLLGATE_STORE=" + harness.FreshDatabase(t, admin), "TOLLGATE_MASTER_KEY_FILE=" + harness.MasterKeyFile(t)}, "PostgreSQL"
}

// procCPU is the CPU time (user + system) process pid has used.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// commCPU is the CPU time the machine's processes named comm have used: the PostgreSQL server's
// share of an import, beside Tollgate's own (0 when there are none, on the embedded store).
func commCPU(comm string) time.Duration {
	dirs, _ := os.ReadDir("/proc")
	var sum time.Duration
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(b)) == comm {
			sum += procCPU(pid)
		}
	}
	return sum
}

// cpuUse is CPU time spent by the server, by this process (the load's clients) and by the
// machine's PostgreSQL processes.
type cpuUse struct{ server, client, pg time.Duration }

func (u cpuUse) sub(v cpuUse) cpuUse {
	return cpuUse{u.server - v.server, u.client - v.client, u.pg - v.pg}
}

func (u cpuUse) total() time.Duration { return u.server + u.client + u.pg }

// per divides each part by n (n operations).
func (u cpuUse) per(n float64) cpuUse {
	if n == 0 {
		return cpuUse{}
	}
	f := func(d time.Duration) time.Duration { return time.Duration(float64(d) / n) }
	return cpuUse{f(u.server), f(u.client), f(u.pg)}
}

// cores is how many CPUs u kept busy on average over d.
func (u cpuUse) cores(d time.Duration) float64 { return u.total().Seconds() / d.Seconds() }

// cpuMeter reads the CPU used so far by the server pid, this process and (when pg) PostgreSQL.
func cpuMeter(pid int, pg bool) func() cpuUse {
	return func() cpuUse {
		u := cpuUse{server: procCPU(pid), client: procCPU(os.Getpid())}
		if pg {
			u.pg = commCPU("postgres")
		}
		return u
	}
}

// call makes one GET of url with an API key and returns its status, the body read and closed
// so that the connection is reused.
func call(hc *http.Client, url, key string) (int, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("x-api-key", key)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// settle brings the server to its steady state after a burst of work: it runs a collection
// (the heap profile's gc=1) and waits, up to 30 s, until the runtime's scavenger has given back
// what the collection freed, that is until RSS stops falling. A long-running server gets there
// by itself; 5 s after the burst it still held up to twice its live heap in freed pages.
func settle(t *testing.T, pid int, debugAddr string) {
	resp, err := http.Get("http://" + debugAddr + "/debug/pprof/heap?gc=1")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	last := rssMB(pid)
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); {
		time.Sleep(2 * time.Second)
		now := rssMB(pid)
		if last-now < 1 {
			break
		}
		last = now
	}
	// Where the memory is, by the runtime's own account (the heap profile's text form ends with
	// runtime.MemStats).
	resp, err = http.Get("http://" + debugAddr + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var stats []string
	for _, line := range strings.Split(string(body), "\n") {
		for _, f := range []string{"HeapAlloc", "HeapInuse", "HeapIdle", "HeapReleased", "Stack", "GCSys", "OtherSys", "NextGC"} {
			if v, ok := strings.CutPrefix(line, "# "+f+" = "); ok {
				n, _ := strconv.ParseFloat(strings.Fields(v)[0], 64)
				stats = append(stats, fmt.Sprintf("%s %.0f MB", f, n/(1<<20)))
			}
		}
	}
	t.Logf("after a GC: RSS %.0f MB (anonymous %.0f MB); runtime: %s", rssMB(pid), statusMB(pid, "RssAnon:"), strings.Join(stats, ", "))
}

// saveHeapProfile saves the server's heap profile (its --debug-addr) as it is now.
func saveHeapProfile(t *testing.T, addr, path string) {
	saveURL(t, "http://"+addr+"/debug/pprof/heap", path)
}

// profile saves a CPU profile of the server (its --debug-addr) over the next seconds.
func profile(t *testing.T, addr, path string, seconds int) {
	saveURL(t, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, seconds), path)
}

// saveURL writes what url answers to path; a failure is logged, not fatal: profiles are extras.
func saveURL(t *testing.T, url, path string) {
	resp, err := http.Get(url)
	if err != nil {
		t.Log(err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Log(err)
	}
}

// TestScale prints the target rows for N keys in one plan.
func TestScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("TOLLGATE_SCALE_KEYS"))
	if n <= 0 {
		t.Skip("set TOLLGATE_SCALE_KEYS (e.g. 1000000) to measure")
	}
	dir := os.Getenv("TOLLGATE_SCALE_DIR") // kept afterwards, for profiling a restart by hand
	if dir == "" {
		dir = t.TempDir()
	}
	debugAddr := fmt.Sprintf("127.0.0.1:%d", 20000+os.Getpid()%10000)
	env, backend := storeEnv(t)
	// The account throttle (10,000 requests/s by default) is raised out of reach: the rows measure
	// the path of an admitted request, and at its default most of the load below was refused by
	// it before its key was looked at (30,000–96,000 of the million calls, and most of the data
	// plane's requests a second).
	s := harness.Start(t, harness.Options{DataDir: dir, Env: env, Args: []string{"--debug-addr", debugAddr,
		"--account-rate-limit", "10000000", "--account-burst-limit", "10000000"}})
	c := s.Client("us-east-1")
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Minute)
	defer cancel()
	api, err := c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("scale")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: api.RootResourceId, HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE"), ApiKeyRequired: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: api.RootResourceId, HttpMethod: aws.String("GET"), Type: types.IntegrationTypeMock,
		RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{RestApiId: api.Id, ResourceId: api.RootResourceId, HttpMethod: aws.String("GET"), StatusCode: aws.String("200")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("dev")}); err != nil {
		t.Fatal(err)
	}
	plan, err := c.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("p"), ApiStages: []types.ApiStage{{ApiId: api.Id, Stage: aws.String("dev")}},
		Quota: &types.QuotaSettings{Limit: 1000000, Period: types.QuotaPeriodTypeDay}})
	if err != nil {
		t.Fatal(err)
	}
	emptyRSS, emptyAnon := rssMB(s.Pid()), statusMB(s.Pid(), "RssAnon:")
	rows := [][2]string{}
	row := func(k, v string) { rows = append(rows, [2]string{k, v}); t.Logf("%-60s %s", k, v) }

	// Import in chunks of 100,000 (the first one timed alone).
	importPeak := 0.0
	const chunk = 100000
	for done := 0; done < n; done += chunk {
		m := min(chunk, n-done)
		var b strings.Builder
		b.WriteString("Name,Key,Enabled,UsagePlanIds\n")
		for i := done; i < done+m; i++ {
			fmt.Fprintf(&b, "k%d,scale-key-value-%09d-abcdefgh,true,%s\n", i, i, *plan.Id)
		}
		if path := os.Getenv("TOLLGATE_SCALE_IMPORT_PROFILE"); path != "" && done == 0 {
			go profile(t, debugAddr, path, 6)
		}
		if path := os.Getenv("TOLLGATE_SCALE_LAST_IMPORT_PROFILE"); path != "" && done > 0 && done+m == n {
			go profile(t, debugAddr, path, 10)
		}
		cpu0, pg0 := procCPU(s.Pid()), commCPU("postgres")
		start := time.Now()
		stop := make(chan struct{})
		sampled := make(chan float64)
		go func() { // the server's RSS while it imports, every 20 ms
			peak := 0.0
			for {
				peak = max(peak, rssMB(s.Pid()))
				select {
				case <-stop:
					sampled <- peak
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
		if _, err := c.ImportApiKeys(ctx, &apigateway.ImportApiKeysInput{Body: []byte(b.String()), Format: types.ApiKeysFormatCsv, FailOnWarnings: true}); err != nil {
			t.Fatal(err)
		}
		close(stop)
		importPeak = max(importPeak, <-sampled)
		// The first chunk goes into an empty plan (a full build follows it); the last into a
		// store that holds all the others (applied to the snapshot in place).
		if done == 0 || done+m == n {
			took := time.Since(start)
			cpu, pg := procCPU(s.Pid())-cpu0, commCPU("postgres")-pg0
			what := fmt.Sprintf("ImportApiKeys of %d keys into a plan", m)
			if done > 0 {
				what = fmt.Sprintf("ImportApiKeys of %d keys into a plan of %d", m, done)
			}
			row(what, fmt.Sprintf("%v (CPU: server %.2f s, PostgreSQL processes %.2f s)",
				took.Round(time.Millisecond), cpu.Seconds(), pg.Seconds()))
		}
	}
	gw := s.Endpoint + "/restapis/" + *api.Id + "/dev/_user_request_/"
	status := func(key string) int {
		code, err := call(http.DefaultClient, gw, key)
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	until := func(key string, want int) {
		for end := time.Now().Add(30 * time.Second); status(key) != want; {
			if time.Now().After(end) {
				t.Fatalf("key never answered %d", want)
			}
		}
	}
	if st := status(fmt.Sprintf("scale-key-value-%09d-abcdefgh", n-1)); st != 200 {
		t.Fatalf("an imported key: %d", st)
	}
	time.Sleep(5 * time.Second)
	rss, anon, file := rssMB(s.Pid()), statusMB(s.Pid(), "RssAnon:"), statusMB(s.Pid(), "RssFile:")
	perKey := func(mb, base float64) float64 { return (mb - base) * 1024 * 1024 / float64(n) }
	row(fmt.Sprintf("RSS serving %d keys (empty: %.0f MB)", n, emptyRSS), fmt.Sprintf("%.0f MB, %.0f bytes/key", rss, perKey(rss, emptyRSS)))
	row("  of which anonymous (Go heap, stacks)", fmt.Sprintf("%.0f MB, %.0f bytes/key", anon, perKey(anon, emptyAnon)))
	row("  of which mapped files (binary, SQLite's memory-mapped database)", fmt.Sprintf("%.0f MB", file))
	row("peak RSS while importing (chunks of 100,000)", fmt.Sprintf("%.0f MB, %.2f× serving", importPeak, importPeak/rss))

	const samples = 40
	var create, update, disable, del []time.Duration
	for i := 0; i < samples; i++ {
		start := time.Now()
		k, err := c.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("new"), Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateUsagePlanKey(ctx, &apigateway.CreateUsagePlanKeyInput{UsagePlanId: plan.Id, KeyId: k.Id, KeyType: aws.String("API_KEY")}); err != nil {
			t.Fatal(err)
		}
		until(*k.Value, 200)
		create = append(create, time.Since(start))

		start = time.Now()
		if _, err := c.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: plan.Id, PatchOperations: []types.PatchOperation{
			{Op: types.OpReplace, Path: aws.String("/description"), Value: aws.String(fmt.Sprint("d", i))}}}); err != nil {
			t.Fatal(err)
		}
		update = append(update, time.Since(start))

		start = time.Now()
		if _, err := c.UpdateApiKey(ctx, &apigateway.UpdateApiKeyInput{ApiKey: k.Id, PatchOperations: []types.PatchOperation{
			{Op: types.OpReplace, Path: aws.String("/enabled"), Value: aws.String("false")}}}); err != nil {
			t.Fatal(err)
		}
		if st := status(*k.Value); st != 403 {
			t.Fatalf("a disabled key on the next request: %d", st)
		}
		disable = append(disable, time.Since(start))

		start = time.Now()
		if _, err := c.DeleteApiKey(ctx, &apigateway.DeleteApiKeyInput{ApiKey: k.Id}); err != nil {
			t.Fatal(err)
		}
		if st := status(*k.Value); st != 403 {
			t.Fatalf("a deleted key on the next request: %d", st)
		}
		del = append(del, time.Since(start))
	}
	for _, r := range []struct {
		name string
		d    []time.Duration
	}{
		{"CreateApiKey + CreateUsagePlanKey, until the data plane admits it", create},
		{"UpdateUsagePlan (description)", update},
		{"UpdateApiKey (disable), refused on the next request", disable},
		{"DeleteApiKey, refused on the next request", del},
	} {
		row(r.name, fmt.Sprintf("median %v, p99 %v", percentile(r.d, 0.5).Round(100*time.Microsecond), percentile(r.d, 0.99).Round(100*time.Microsecond)))
	}

	// 16 writers creating keys (each with its plan key) for 5 s, alone and then against a data
	// plane under load: keys a second, and the data plane's requests a second with and without
	// the writers.
	serve := func(d time.Duration, stop <-chan struct{}) float64 {
		var n atomic.Int64
		var wg sync.WaitGroup
		end := time.Now().Add(d)
		tr := &http.Transport{MaxIdleConnsPerHost: 16}
		defer tr.CloseIdleConnections()
		hc := &http.Client{Transport: tr}
		for i := range 16 {
			key := fmt.Sprintf("scale-key-value-%09d-abcdefgh", i+1) // a key each: the daily quota lasts
			wg.Go(func() {
				for time.Now().Before(end) {
					if _, err := call(hc, gw, key); err != nil {
						t.Error(err)
						return
					}
					n.Add(1)
				}
			})
		}
		wg.Wait()
		return float64(n.Load()) / d.Seconds()
	}
	write := func(d time.Duration) float64 {
		var n atomic.Int64
		var wg sync.WaitGroup
		end := time.Now().Add(d)
		for range 16 {
			wg.Go(func() {
				for time.Now().Before(end) {
					k, err := c.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("w"), Enabled: true})
					if err != nil {
						t.Error(err)
						return
					}
					if _, err := c.CreateUsagePlanKey(ctx, &apigateway.CreateUsagePlanKeyInput{UsagePlanId: plan.Id, KeyId: k.Id, KeyType: aws.String("API_KEY")}); err != nil {
						t.Error(err)
						return
					}
					n.Add(1)
				}
			})
		}
		wg.Wait()
		return float64(n.Load()) / d.Seconds()
	}
	// CPU of the server, of this process (the SDK writers and the data plane's load generator)
	// and of the machine's PostgreSQL processes over each phase: on a machine the load fills,
	// what the writers take from the data plane is bounded below by the CPU the writes need.
	used := cpuMeter(s.Pid(), backend == "PostgreSQL")
	if path := os.Getenv("TOLLGATE_SCALE_WRITE_PROFILE"); path != "" {
		go profile(t, debugAddr, path, 4)
	}
	w0 := used()
	wps := write(5 * time.Second)
	wcpu := used().sub(w0).per(wps * 5)
	row("16 writers: CreateApiKey + CreateUsagePlanKey a second", fmt.Sprintf("%.0f (server CPU %.0f µs per key)", wps, wcpu.server.Seconds()*1e6))
	row("  CPU per key: server / SDK clients / PostgreSQL", fmt.Sprintf("%.0f / %.0f / %.0f µs", wcpu.server.Seconds()*1e6, wcpu.client.Seconds()*1e6, wcpu.pg.Seconds()*1e6))
	if path := os.Getenv("TOLLGATE_SCALE_SERVE_PROFILE"); path != "" {
		go profile(t, debugAddr, path, 4)
	}
	a0 := used()
	alone := serve(5*time.Second, nil)
	aloneUse := used().sub(a0)
	aloneCores := aloneUse.cores(5 * time.Second)
	var during, writes float64
	var both sync.WaitGroup
	if path := os.Getenv("TOLLGATE_SCALE_BOTH_PROFILE"); path != "" {
		go profile(t, debugAddr, path, 4)
	}
	b0 := used()
	both.Go(func() { during = serve(5*time.Second, nil) })
	both.Go(func() { writes = write(5 * time.Second) })
	both.Wait()
	bothCores := used().sub(b0).cores(5 * time.Second)
	row("data plane req/s (16 clients, same process as the load): alone / with 16 writers", fmt.Sprintf("%.0f / %.0f (%.2f×; writers %.0f keys/s)", alone, during, during/alone, writes))
	// If the data plane's throughput is bound by CPU, the writers leave it what they do not use
	// themselves at the CPU per key measured alone: the ratio that would mean the writes cost
	// the data plane nothing beyond their own CPU.
	ncpu := float64(runtime.NumCPU())
	left := func(keys float64) float64 {
		return max(0, min(aloneCores, ncpu-keys*wcpu.total().Seconds())) / aloneCores
	}
	// What the two phases' CPU per request and per key account for of the cores busy with both:
	// the rest is what serving and writing cost each other (collections marking a larger heap,
	// caches the other evicts).
	explained := during*aloneUse.per(alone*5).total().Seconds() + writes*wcpu.total().Seconds()
	row("  cores busy (of "+strconv.Itoa(runtime.NumCPU())+"): alone / with writers", fmt.Sprintf("%.2f / %.2f (%.2f at the CPU per request and per key of each alone); the writers' own CPU leaves the data plane %.2f× (at 500 keys/s %.2f×)",
		aloneCores, bothCores, explained, left(writes), left(500)))

	start := time.Now()
	if _, err := c.GetApiKeys(ctx, &apigateway.GetApiKeysInput{Limit: aws.Int32(500)}); err != nil {
		t.Fatal(err)
	}
	row("GetApiKeys, one page of 500", time.Since(start).Round(100*time.Microsecond).String())
	start = time.Now()
	if _, err := c.GetUsagePlanKeys(ctx, &apigateway.GetUsagePlanKeysInput{UsagePlanId: plan.Id, Limit: aws.Int32(500)}); err != nil {
		t.Fatal(err)
	}
	row("GetUsagePlanKeys, one page of 500", time.Since(start).Round(100*time.Microsecond).String())
	// GetUsage of the plan's newest 1,000 keys over 90 days, two pages of 500 (the most a page
	// holds): the median of 5 reports, one report's 90,000 figures being little enough work for
	// one call's noise to show.
	getUsage := func() string {
		from, to := time.Now().UTC().AddDate(0, 0, -89).Format("2006-01-02"), time.Now().UTC().Format("2006-01-02")
		var took []time.Duration
		for range 5 {
			start := time.Now()
			var position *string
			keys := 0
			for range 2 {
				out, err := c.GetUsage(ctx, &apigateway.GetUsageInput{UsagePlanId: plan.Id, StartDate: &from, EndDate: &to, Limit: aws.Int32(500), Position: position})
				if err != nil {
					t.Fatal(err)
				}
				keys += len(out.Items)
				position = out.Position
			}
			took = append(took, time.Since(start))
			if keys != 1000 {
				t.Fatalf("GetUsage: %d keys in two pages, want 1000", keys)
			}
		}
		slices.Sort(took)
		return fmt.Sprintf("median %v (%v–%v)", took[2].Round(100*time.Microsecond), took[0].Round(100*time.Microsecond), took[4].Round(100*time.Microsecond))
	}
	row("GetUsage, 1,000 keys × 90 days (16 keys of the plan in use)", getUsage())

	// Every key called once: what a key in use keeps (its quota entry and usage counter; a
	// throttle bucket too where its plan has a throttle, which this one has not) comes on top of
	// the key index measured above, while serving.
	var refused atomic.Int64
	var callers sync.WaitGroup
	calls := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	next := atomic.Int64{}
	start = time.Now()
	for range 64 {
		callers.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				code, err := call(calls, gw, fmt.Sprintf("scale-key-value-%09d-abcdefgh", i))
				if err != nil {
					t.Error(err)
					return
				}
				if code != 200 {
					refused.Add(1) // the keys the write rows disabled or deleted
				}
			}
		})
	}
	callers.Wait()
	took := time.Since(start)
	settle(t, s.Pid(), debugAddr)
	rss, anon, file = rssMB(s.Pid()), statusMB(s.Pid(), "RssAnon:"), statusMB(s.Pid(), "RssFile:")
	row(fmt.Sprintf("RSS serving %d keys, each called once, after a GC (in %v, %d refused)", n, took.Round(time.Second), refused.Load()),
		fmt.Sprintf("%.0f MB, %.0f bytes/key (anonymous %.0f MB, files %.0f MB)", rss, perKey(rss, emptyRSS), anon, file))
	if path := os.Getenv("TOLLGATE_SCALE_ACTIVE_MEMPROFILE"); path != "" {
		saveHeapProfile(t, debugAddr, path)
	}
	// The same page with every key of the plan in use today: it must cost its keys' rows, not
	// the plan's.
	row(fmt.Sprintf("GetUsage, 1,000 keys × 90 days (all %d keys of the plan in use)", n), getUsage())

	// Restart on the same data directory: start to serving.
	s.Stop()
	start = time.Now()
	s2 := harness.Start(t, harness.Options{DataDir: dir, Env: env})
	gw = s2.Endpoint + "/restapis/" + *api.Id + "/dev/_user_request_/"
	until(fmt.Sprintf("scale-key-value-%09d-abcdefgh", 0), 200)
	row(fmt.Sprintf("restart to serving at %d keys", n), time.Since(start).Round(time.Millisecond).String())

	fmt.Printf("\n| %d keys, %s | measured |\n|---|---|\n", n, backend)
	for _, r := range rows {
		fmt.Printf("| %s | %s |\n", r[0], r[1])
	}
}

// TestScaleRestart restarts the real binary on a data directory TestScale left behind
// (TOLLGATE_SCALE_DIR) and prints the time to serving and the memory while serving: the restart
// and RSS rows alone, for trying a change without importing again.
func TestScaleRestart(t *testing.T) {
	dir := os.Getenv("TOLLGATE_SCALE_DIR")
	if _, err := os.Stat(dir + "/tollgate.db"); dir == "" || err != nil {
		t.Skip("set TOLLGATE_SCALE_DIR to a data directory TestScale filled")
	}
	if _, err := harness.Binary(); err != nil { // built before the clock starts
		t.Fatal(err)
	}
	start := time.Now()
	s := harness.Start(t, harness.Options{DataDir: dir})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	apis, err := s.Client("us-east-1").GetRestApis(ctx, &apigateway.GetRestApisInput{})
	if err != nil || len(apis.Items) == 0 {
		t.Fatalf("GetRestApis: %v", err)
	}
	gw := s.Endpoint + "/restapis/" + *apis.Items[0].Id + "/dev/_user_request_/"
	for {
		req, _ := http.NewRequest("GET", gw, nil)
		req.Header.Set("x-api-key", fmt.Sprintf("scale-key-value-%09d-abcdefgh", 0))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			break
		}
	}
	t.Logf("restart to serving: %v", time.Since(start).Round(time.Millisecond))
	time.Sleep(5 * time.Second)
	t.Logf("RSS %.0f MB: anonymous %.0f MB, mapped files %.0f MB", rssMB(s.Pid()), statusMB(s.Pid(), "RssAnon:"), statusMB(s.Pid(), "RssFile:"))
}
