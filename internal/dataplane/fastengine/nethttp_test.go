package fastengine_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/tollgate/tollgate/internal/dataplane"
	"github.com/tollgate/tollgate/internal/dataplane/fastengine"
	"github.com/tollgate/tollgate/internal/sigv4"
)

// serve starts the fasthttp engine on a loopback port with mgmt as the management handler and
// returns its base URL.
func serve(t *testing.T, mgmt http.Handler) string {
	t.Helper()
	e := fastengine.New(dataplane.NewCore(dataplane.Options{}), fastengine.Options{})
	srv := e.NewServer(mgmt)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String()
}

// TestManagementSigV4: a request signed by the AWS SDK, with percent-encoded path bytes (a tag
// ARN) and a 2 MB body, verifies through the adapter: the verifier sees the raw path, the query
// and the headers exactly as sent.
func TestManagementSigV4(t *testing.T) {
	verifier := sigv4.New(sigv4.Config{Credentials: map[string]string{"AKIDTEST": "secret"}})
	base := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		region, err := verifier.Authenticate(r, body)
		if err != nil {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, err)
			return
		}
		fmt.Fprintf(w, "%s %d", region, len(body))
	}))
	body := bytes.Repeat([]byte("k,v\n"), 512<<10)
	for _, path := range []string{
		"/tags/arn%3Aaws%3Aapigateway%3Aus-west-2%3A%3A%2Frestapis%2Fabc123",
		"/restapis/abc/resources/x%2Fy?mode=merge&name=a%20b&v=%2F",
		"/apikeys?mode=import&format=csv",
	} {
		sum := sha256.Sum256(body)
		req, err := http.NewRequest("PUT", base+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "text/csv")
		creds := aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "apigateway", "us-west-2", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("us-west-2 %d", len(body)); resp.StatusCode != 200 || string(got) != want {
			t.Fatalf("%s: %d %s, want 200 %s", path, resp.StatusCode, got, want)
		}
	}
}

// TestManagementRequestAndResponse: the adapter builds the request net/http's server would
// (raw request-target, Host, repeated headers, lengths) and sends what the handler wrote.
func TestManagementRequestAndResponse(t *testing.T) {
	type seen struct {
		requestURI, escapedPath, rawQuery, host, method, remote string
		multi, contentLength                                    []string
		length                                                  int64
		te                                                      []string
		read                                                    int
	}
	var last atomic.Pointer[seen]
	base := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		last.Store(&seen{r.RequestURI, r.URL.EscapedPath(), r.URL.RawQuery, r.Host, r.Method, r.RemoteAddr,
			r.Header.Values("X-Multi"), r.Header.Values("Content-Length"), r.ContentLength, r.TransferEncoding, int(n)})
		w.Header().Add("X-Out", "1")
		w.Header().Add("X-Out", "2")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "hello, world")
	}))
	req, _ := http.NewRequest("POST", base+"/usageplans/p%2F1/keys?a=1&b=%2F", strings.NewReader("abc"))
	req.Host = "apigateway.us-east-1.amazonaws.com"
	req.Header.Add("X-Multi", "one")
	req.Header.Add("X-Multi", "two")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	s := last.Load()
	if s.requestURI != "/usageplans/p%2F1/keys?a=1&b=%2F" || s.escapedPath != "/usageplans/p%2F1/keys" || s.rawQuery != "a=1&b=%2F" ||
		s.host != "apigateway.us-east-1.amazonaws.com" || s.method != "POST" || s.remote == "" ||
		fmt.Sprint(s.multi) != "[one two]" || fmt.Sprint(s.contentLength) != "[3]" || s.length != 3 || s.read != 3 {
		t.Errorf("handler saw %+v", *s)
	}
	if resp.StatusCode != 201 || string(got) != "hello, world" || fmt.Sprint(resp.Header.Values("X-Out")) != "[1 2]" ||
		resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("client got %d %q %v", resp.StatusCode, got, resp.Header)
	}

	// A chunked body arrives as net/http presents one: length -1, Transfer-Encoding chunked.
	req, _ = http.NewRequest("PUT", base+"/restapis", io.MultiReader(strings.NewReader("x"), strings.NewReader("yz")))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s := last.Load(); s.length != -1 || fmt.Sprint(s.te) != "[chunked]" || s.read != 3 || len(s.contentLength) != 0 {
		t.Errorf("chunked request seen as %+v", *s)
	}
}

// TestManagementBodyIsStreamed: a 50 MB body reaches the handler as a stream; the heap does
// not hold it (fasthttpadaptor would read it whole first).
func TestManagementBodyIsStreamed(t *testing.T) {
	const size = 50 << 20
	var read atomic.Int64
	base := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		read.Store(n)
	}))
	runtime.GC()
	var before, during runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			runtime.ReadMemStats(&during)
			if during.HeapInuse > peak.Load() {
				peak.Store(during.HeapInuse)
			}
		}
	}()
	req, _ := http.NewRequest("POST", base+"/restapis?mode=import", io.LimitReader(zeros{}, size))
	req.ContentLength = size
	resp, err := http.DefaultClient.Do(req)
	close(stop)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if read.Load() != size {
		t.Fatalf("handler read %d bytes, want %d", read.Load(), size)
	}
	if grew := int64(peak.Load()) - int64(before.HeapInuse); grew > 8<<20 {
		t.Errorf("heap grew by %d MB for a 50 MB management body", grew>>20)
	}
}

// TestRouteSplitsPlanes: invocations go to the data plane, everything else to management.
func TestRouteSplitsPlanes(t *testing.T) {
	base := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "mgmt") }))
	for _, c := range []struct{ host, path, want string }{
		{"", "/restapis/abc/resources", "mgmt"},
		{"", "/apikeys", "mgmt"},
		{"", "/restapis/abc/dev/_user_request_/pets", `{"message":"The API id 'abc' does not correspond to a deployed API Gateway API"}`},
		{"", "/_aws/execute-api/abc/dev/pets", `{"message":"The API id 'abc' does not correspond to a deployed API Gateway API"}`},
		{"abc.execute-api.localhost", "/dev/pets", `{"message":"The API id 'abc' does not correspond to a deployed API Gateway API"}`},
	} {
		req, _ := http.NewRequest("GET", base+c.path, nil)
		if c.host != "" {
			req.Host = c.host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != c.want {
			t.Errorf("%s %s: %q, want %q", c.host, c.path, got, c.want)
		}
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
