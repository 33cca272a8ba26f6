package scale

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
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

var listenRe = regexp.MustCompile(`tollgate listening"? addr=(\S+)`)

// startTollgate builds ./cmd/tollgate and starts `tollgate serve` on a loopback port with a
// fresh data dir; it returns the endpoint and the process, stopped (SIGINT, then SIGKILL after
// 30 s) when the benchmark ends.
func startTollgate(b *testing.B) (string, *os.Process) {
	b.Helper()
	dir := b.TempDir()
	bin := filepath.Join(dir, "tollgate")
	_, file, _, _ := runtime.Caller(0)
	build := exec.Command("go", "build", "-o", bin, "./cmd/tollgate")
	build.Dir = filepath.Join(filepath.Dir(file), "..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building tollgate: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listenRe.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() { _ = cmd.Wait(); close(exited) }()
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	select {
	case a := <-addr:
		return "http://" + a, cmd.Process
	case <-exited:
		b.Fatal("tollgate exited before listening")
	case <-time.After(20 * time.Second):
		b.Fatal("tollgate did not start listening")
	}
	return "", nil
}

// procRSS reads another process's resident set size in bytes (0 if unavailable).
func procRSS(p *os.Process) uint64 { return procStatus(strconv.Itoa(p.Pid), "VmRSS:") }

// BenchmarkImportAPI imports TOLLGATE_SCALE_IMPORT keys (default 100,000) into one usage plan
// with one ImportApiKeys call to the real binary, signed by aws-sdk-go-v2, then pages
// GetApiKeys over all of them with limit 500.
func BenchmarkImportAPI(b *testing.B) {
	n := envInt(b, "TOLLGATE_SCALE_IMPORT", 100_000)
	const limit = 500
	endpoint, proc := startTollgate(b)
	c := apigateway.New(apigateway.Options{
		Region:           region,
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: 1,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	plan, err := c.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("import"),
		Quota: &types.QuotaSettings{Limit: 1000, Period: types.QuotaPeriodTypeDay}})
	if err != nil {
		b.Fatal(err)
	}
	var csv strings.Builder
	csv.WriteString("Name,Key,Description,Enabled,UsagePlanIds\n")
	for i := range n {
		fmt.Fprintf(&csv, "key-%07d,scale-key-value-%020d,imported,true,%s\n", i, i, *plan.Id)
	}
	body := []byte(csv.String())

	for b.Loop() {
		start := time.Now()
		out, err := c.ImportApiKeys(ctx, &apigateway.ImportApiKeysInput{Body: body, Format: types.ApiKeysFormatCsv, FailOnWarnings: true})
		if err != nil {
			b.Fatal(err)
		}
		imported := time.Since(start)
		if len(out.Ids) != n {
			b.Fatalf("imported %d keys, want %d (warnings %v)", len(out.Ids), n, out.Warnings[:min(5, len(out.Warnings))])
		}
		rssAfterImport := procRSS(proc)

		var pages []time.Duration
		seen := 0
		var position *string
		pstart := time.Now()
		for {
			p0 := time.Now()
			page, err := c.GetApiKeys(ctx, &apigateway.GetApiKeysInput{Limit: aws.Int32(limit), Position: position})
			if err != nil {
				b.Fatal(err)
			}
			pages = append(pages, time.Since(p0))
			seen += len(page.Items)
			if position = page.Position; position == nil || *position == "" {
				break
			}
		}
		paged := time.Since(pstart)
		if seen != n {
			b.Fatalf("GetApiKeys listed %d keys, want %d", seen, n)
		}
		var worst time.Duration
		for _, d := range pages {
			worst = max(worst, d)
		}
		b.ReportMetric(imported.Seconds(), "s/import")
		b.ReportMetric(paged.Seconds(), "s/list-all")
		b.Logf("keys=%d csv=%d KB import=%v (%.0f keys/s) server RSS after import=%d MB; GetApiKeys limit %d: %d pages in %v, mean %v/page, max %v, first %v, last %v",
			n, len(body)>>10, imported.Round(time.Millisecond), float64(n)/imported.Seconds(), rssAfterImport>>20, limit,
			len(pages), paged.Round(time.Millisecond), (paged / time.Duration(len(pages))).Round(time.Microsecond),
			worst.Round(time.Microsecond), pages[0].Round(time.Microsecond), pages[len(pages)-1].Round(time.Microsecond))
	}
}
