package accesslog

import (
	"encoding/json"
	"io"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

func record() *Record {
	return &Record{
		RequestID: "req-1", ExtendedRequestID: "req-1", SourceIP: netip.MustParseAddr("::ffff:10.0.0.7"),
		UserAgent: "curl/8", APIKeyID: "k1", HTTPMethod: "GET", ResourcePath: "/pets/{id}", Path: "/pets/7",
		StagePath: true, Protocol: "HTTP/1.1", Status: 200, ResponseLength: 42,
		Start:              time.Date(2026, 12, 3, 10, 4, 5, 0, time.UTC),
		IntegrationLatency: 7 * time.Millisecond, IntegrationStatus: 201, ResponseLatency: 9 * time.Millisecond,
		Stage: "prod", APIID: "abc123", DomainName: "abc123.execute-api.us-east-1.amazonaws.com", AccountID: "000000000000",
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		name, format string
		edit         func(*Record)
		want         string
	}{
		{"CLF", `$context.identity.sourceIp - - [$context.requestTime] "$context.httpMethod $context.resourcePath $context.protocol" $context.status $context.responseLength $context.requestId`,
			nil, `10.0.0.7 - - [03/Dec/2026:10:04:05 +0000] "GET /pets/{id} HTTP/1.1" 200 42 req-1`},
		{"latencies and ids", `$context.integrationLatency $context.integration.latency $context.responseLatency $context.integrationStatus $context.requestTimeEpoch $context.apiId/$context.stage $context.identity.apiKeyId $context.accountId`,
			nil, `7 7 9 201 1796292245000 abc123/prod k1 000000000000`},
		{"path", `$context.path|$context.domainName|$context.domainPrefix`, nil, `/prod/pets/7|abc123.execute-api.us-east-1.amazonaws.com|abc123`},
		{"the key value is never logged", `$context.identity.apiKey`, nil, `-`},
		{"unknown variable", `[$context.authorizer.claims.sub] [$context.nope]`, nil, `[-] [-]`},
		{"not a variable", `$context. $contextual $$`, nil, `$context. $contextual $$`},
		{"trailing dot", `$context.status.`, nil, `200.`},
		{"absent values", `$context.integrationLatency $context.responseLength $context.error.message $context.error.messageString $context.identity.sourceIp`,
			func(r *Record) { r.IntegrationLatency, r.ResponseLength, r.SourceIP = -1, -1, netip.Addr{} }, `- - - - -`},
		{"errors", `$context.error.message $context.error.messageString $context.error.responseType`,
			func(r *Record) { r.ErrorMessage, r.ErrorResponseType = "Limit Exceeded", "QUOTA_EXCEEDED" }, `Limit Exceeded "Limit Exceeded" QUOTA_EXCEEDED`},
		{"escaping", `{"ua":"$context.identity.userAgent"}`,
			func(r *Record) { r.UserAgent = "a\"b\\c\nd\x01" }, `{"ua":"a\"b\\c\nd\u0001"}`},
		{"root path", `$context.path`, func(r *Record) { r.Path = "" }, `/prod`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := record()
			if c.edit != nil {
				c.edit(r)
			}
			if got := string(Compile(c.format).Append(nil, r)); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

// TestMessageStringIsJSON: $context.error.messageString is a JSON string literal, so a JSON
// format that writes it unquoted stays JSON, whatever the message holds.
func TestMessageStringIsJSON(t *testing.T) {
	r := record()
	r.ErrorMessage = `say "no"\n`
	var m map[string]string
	line := Compile(`{"error":$context.error.messageString}`).Append(nil, r)
	if err := json.Unmarshal(line, &m); err != nil || m["error"] != r.ErrorMessage {
		t.Errorf("%s: %v %q", line, err, m["error"])
	}
}

// TestDefaultIsJSON: the default line is one JSON object whatever the values hold.
func TestDefaultIsJSON(t *testing.T) {
	r := record()
	r.UserAgent, r.Path = "x\"}\n{\"injected\":1", "/a\"b"
	var m map[string]string
	line := Default.Append(nil, r)
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	if m["userAgent"] != r.UserAgent || m["apiKeyId"] != "k1" || m["status"] != "200" || len(m) != 16 {
		t.Errorf("default line %s", line)
	}
}

func TestAppendAllocatesNothing(t *testing.T) {
	f, r := Default, record()
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(1000, func() { buf = f.Append(buf[:0], r) }); n != 0 {
		t.Errorf("Append allocates %v times per line", n)
	}
}

// blockingWriter holds every write until released.
type blockingWriter struct {
	release chan struct{}
	mu      sync.Mutex
	b       strings.Builder
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
func (w *blockingWriter) Close() error { return nil }

var lineFormat = Compile("line $context.status")

// TestWriterDropsWhenFull: a stalled output never blocks a request; what does not fit is
// dropped and counted, and everything kept is written by Close.
func TestWriterDropsWhenFull(t *testing.T) {
	out := &blockingWriter{release: make(chan struct{})}
	w := NewWriter(out, nil)
	r := record()
	n := 4 * ShardSize / len("line 200\n") * len(w.shards)
	start := time.Now()
	for i := 0; i < n; i++ {
		w.Log(lineFormat, r)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Log blocked: %v for %d lines", d, n)
	}
	close(out.release)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(out.b.String(), "line 200\n")
	if uint64(lines) != w.Written() || w.Written()+w.Dropped() != uint64(n) || w.Dropped() == 0 {
		t.Errorf("written %d (file %d) + dropped %d != %d", w.Written(), lines, w.Dropped(), n)
	}
}

func TestWriterFlushesQuietLines(t *testing.T) {
	pr, pw := io.Pipe()
	w := NewWriter(pw, nil)
	defer func() { go io.Copy(io.Discard, pr); w.Close() }()
	w.Log(lineFormat, record())
	got := make([]byte, 9)
	done := make(chan error, 1)
	go func() { _, err := io.ReadFull(pr, got); done <- err }()
	select {
	case err := <-done:
		if err != nil || string(got) != "line 200\n" {
			t.Errorf("read %q, %v", got, err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a single line was not written within 2 s")
	}
}

func TestLogAllocatesNothing(t *testing.T) {
	w := NewWriter(nopCloser{io.Discard}, nil)
	defer w.Close()
	r := record()
	if n := testing.AllocsPerRun(1000, func() { w.Log(Default, r) }); n != 0 {
		t.Errorf("Log allocates %v times per line", n)
	}
}

// FuzzCompile: any format compiles, values never add a raw newline (a client cannot forge a log
// line), and literal text is kept.
func FuzzCompile(f *testing.F) {
	f.Add(`$context.requestId "$context.identity.userAgent" $context.status`)
	f.Add(`$context.$context..$context.identity.apiKey$`)
	f.Add("{\"a\":\"$context.path\"}")
	f.Fuzz(func(t *testing.T, format string) {
		r := record()
		r.UserAgent, r.Path, r.ErrorMessage = "ua\nwith newline", "/p\r\n", "m\n"
		line := string(Compile(format).Append(nil, r))
		if strings.Count(line, "\n") > strings.Count(format, "\n") || strings.Count(line, "\r") > strings.Count(format, "\r") {
			t.Fatalf("a value added a raw line break: %q → %q", format, line)
		}
		if !strings.Contains(format, "$context.") && line != format {
			t.Fatalf("literal format changed: %q → %q", format, line)
		}
	})
}
