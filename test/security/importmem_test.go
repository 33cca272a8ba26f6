package security

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/tollgate/tollgate/test/harness"
)

// procKB reads a "Name:  N kB" line of /proc/PID/status (VmRSS, VmHWM).
func procKB(t *testing.T, pid int, name string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", name, pid)
	return 0
}

// TestImportMemory measures what finding 6 reported: the server's peak memory (VmHWM) growth and
// the time of importing a 20,000-path OpenAPI document and a 100,000-row key file. It only
// reports (memory and time depend on the machine); set TOLLGATE_MEASURE=1 to run it.
func TestImportMemory(t *testing.T) {
	if os.Getenv("TOLLGATE_MEASURE") == "" {
		t.Skip("set TOLLGATE_MEASURE=1 to measure import memory")
	}
	t.Run("openapi 20000 paths", func(t *testing.T) {
		s := harness.Start(t, harness.Options{})
		c := s.Client("us-east-1")
		doc := openAPIPaths(20000, "")
		before := procKB(t, s.Pid(), "VmHWM")
		start := time.Now()
		_, err := c.ImportRestApi(harness.Ctx(t), &apigateway.ImportRestApiInput{Body: doc})
		took := time.Since(start)
		t.Logf("%d-byte document: %v in %v; peak RSS %d -> %d kB (+%d MB)", len(doc), err, took.Round(time.Millisecond),
			before, procKB(t, s.Pid(), "VmHWM"), (procKB(t, s.Pid(), "VmHWM")-before)/1024)
	})
	t.Run("csv 100000 rows", func(t *testing.T) {
		s := harness.Start(t, harness.Options{})
		c := s.Client("us-east-1")
		var sb strings.Builder
		sb.WriteString("Name,Key,Description,Enabled\n")
		for i := range 100000 {
			fmt.Fprintf(&sb, "key-%d,value-%030d,imported,true\n", i, i)
		}
		body := []byte(sb.String())
		before := procKB(t, s.Pid(), "VmHWM")
		start := time.Now()
		out, err := c.ImportApiKeys(harness.Ctx(t), &apigateway.ImportApiKeysInput{Body: body, Format: types.ApiKeysFormatCsv})
		took := time.Since(start)
		if err != nil || len(out.Ids) != 100000 {
			t.Fatalf("import: %v", err)
		}
		t.Logf("%d-byte file: imported in %v; peak RSS %d -> %d kB (+%d MB), RSS after %d kB", len(body), took.Round(time.Millisecond),
			before, procKB(t, s.Pid(), "VmHWM"), (procKB(t, s.Pid(), "VmHWM")-before)/1024, procKB(t, s.Pid(), "VmRSS"))
	})
}
