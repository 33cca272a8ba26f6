package dataplane_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/dataplane"
)

// heapPeak samples the heap in use while fn runs and returns how far it rose above where it
// started. Client, engine and backend share the process, so a body buffered anywhere shows.
func heapPeak(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(stop)
	<-done
	if p := peak.Load(); p > base {
		return p - base
	}
	return 0
}

// rawExchange writes a request head, then body (if any) from a goroutine while reading the
// response, as a client that watches for an early answer does; it returns the response.
func rawExchange(t *testing.T, base, head string, body io.Reader) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	if body != nil {
		go func() { _, _ = io.Copy(conn, body) }()
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// chunked encodes r as an HTTP/1.1 chunked body.
func chunked(r io.Reader) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				if _, werr := fmt.Fprintf(pw, "%x\r\n%s\r\n", n, buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				_, _ = io.WriteString(pw, "0\r\n\r\n")
				pw.Close()
				return
			}
		}
	}()
	return pr
}

const uploadPath = "/restapis/api1/dev/_user_request_/items/count"

// TestEnginesPayloadLimit: a declared Content-Length over 10 MB is refused before any body byte
// is read; a chunked upload is cut at the limit; either way memory stays bounded.
func TestEnginesPayloadLimit(t *testing.T) {
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			w := newWorld(t)
			base, _ := eng.start(t, w.core)

			for _, c := range []struct {
				name, expect string
				body         io.Reader
			}{
				// A client that streams: 64 KB of the body arrive, the answer comes before the rest.
				{"streaming client", "", io.LimitReader(zeros{}, 64<<10)},
				// A client that waits to be invited: no body byte is ever sent.
				{"100-continue", "Expect: 100-continue\r\n", nil},
			} {
				head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: gw\r\nX-Api-Key: %s\r\n%sContent-Length: %d\r\n\r\n", uploadPath, testKey, c.expect, dataplane.MaxPayload+1)
				resp, body := rawExchange(t, base, head, c.body)
				if resp.StatusCode != 413 || body != `{"message":"Request Too Long"}` || resp.Header.Get("X-Amzn-Errortype") != "RequestEntityTooLargeException" {
					t.Fatalf("oversized Content-Length, %s: %d %s %v", c.name, resp.StatusCode, body, resp.Header)
				}
				if resp.Header.Get("X-Amzn-Requestid") == "" {
					t.Errorf("413 without x-amzn-RequestId")
				}
			}

			var status int
			var body string
			grew := heapPeak(func() {
				head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: gw\r\nX-Api-Key: %s\r\nTransfer-Encoding: chunked\r\n\r\n", uploadPath, testKey)
				var resp *http.Response
				resp, body = rawExchange(t, base, head, chunked(io.LimitReader(zeros{}, 100<<20)))
				status = resp.StatusCode
			})
			if status != 413 || body != `{"message":"Request Too Long"}` {
				t.Fatalf("100 MB chunked upload: %d %s", status, body)
			}
			select {
			case n := <-w.uploads:
				if n > dataplane.MaxPayload {
					t.Errorf("backend read %d bytes of a refused upload, more than the limit", n)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("the backend never saw the aborted upload end")
			}
			if grew > 8<<20 {
				t.Errorf("heap grew by %d MB during a 100 MB upload: the body was buffered", grew>>20)
			}
			t.Logf("100 MB chunked upload: heap rose by %d KB", grew>>10)
		})
	}
}

// TestEnginesStreamUpload: an upload just under the limit reaches the backend whole while the
// heap stays far below its size.
func TestEnginesStreamUpload(t *testing.T) {
	const size = dataplane.MaxPayload - 1<<20
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			w := newWorld(t)
			base, _ := eng.start(t, w.core)
			var resp *http.Response
			var body string
			grew := heapPeak(func() {
				req, _ := http.NewRequest("POST", base+uploadPath, io.LimitReader(zeros{}, size))
				req.ContentLength = size
				req.Header.Set("X-Api-Key", testKey)
				r, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(r.Body)
				r.Body.Close()
				resp, body = r, string(b)
			})
			if resp.StatusCode != 200 || body != fmt.Sprintf(`{"read":%d}`, size) {
				t.Fatalf("upload: %d %s", resp.StatusCode, body)
			}
			<-w.uploads
			if grew > 4<<20 {
				t.Errorf("heap grew by %d MB for a %d MB upload: the body was buffered", grew>>20, size>>20)
			}
			t.Logf("%d MB upload: heap rose by %d KB", size>>20, grew>>10)
		})
	}
}

// busy returns the stacks of goroutines still inside an engine's request handling or body
// relay ("" when none is): idle keep-alive workers and pools may stay, requests may not.
func busy() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "fastengine.(*Engine).Serve") || strings.Contains(g, "dataplane.(*Handler).ServeHTTP") ||
			strings.Contains(g, "writeBodyStream") || strings.Contains(g, "(*relay).Read") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

// TestEnginesVanishingClients: a client that disconnects mid-upload or mid-download leaves no
// backend stream running, no goroutines behind, and the engine serving on.
func TestEnginesVanishingClients(t *testing.T) {
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			w := newWorld(t)
			base, _ := eng.start(t, w.core)
			addr := strings.TrimPrefix(base, "http://")

			// Mid-upload: 100 KB of a declared 5 MB, then gone.
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: gw\r\nX-Api-Key: %s\r\nContent-Length: %d\r\n\r\n", uploadPath, testKey, 5<<20)
			_, _ = io.CopyN(conn, zeros{}, 100<<10)
			conn.Close()
			select {
			case n := <-w.uploads:
				if n >= 5<<20 {
					t.Errorf("backend read %d bytes of an upload that was cut short", n)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the backend never saw the cut upload end")
			}

			// Mid-download: 1 MB of 200 MB read, then gone.
			conn, err = net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(conn, "GET /restapis/api1/dev/_user_request_/items/big?n=%d HTTP/1.1\r\nHost: gw\r\nX-Api-Key: %s\r\n\r\n", 200<<20, testKey)
			if _, err := io.CopyN(io.Discard, conn, 1<<20); err != nil {
				t.Fatal(err)
			}
			conn.Close()
			deadline := time.Now().Add(10 * time.Second)
			for w.streaming.Load() != 0 || busy() != "" {
				if time.Now().After(deadline) {
					t.Fatalf("after the client left: %d backend streams; still running:\n%s", w.streaming.Load(), busy())
				}
				time.Sleep(10 * time.Millisecond)
			}

			// And the engine serves on.
			req, _ := http.NewRequest("GET", base+"/restapis/api1/dev/_user_request_/items/after", nil)
			req.Header.Set("X-Api-Key", testKey)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("after: %d", resp.StatusCode)
			}
		})
	}
}
