package dataplane_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/dataplane"
	"github.com/tollgate/tollgate/internal/dataplane/loopengine"
	"github.com/tollgate/tollgate/internal/quota"
	"github.com/tollgate/tollgate/internal/quota/quotamem"
	"github.com/tollgate/tollgate/internal/quota/quotastore"
)

// The event-loop engine's own mechanics, which the engine-independent tests reach only by
// chance: what a loop hands over mid-connection, answers it relays off the loop, a quota that
// needs the ledger, and the timers that replace per-connection deadlines.

// startLoopWith starts the event-loop engine with options; it returns the address, the count of
// connections accepted and the engine (for its Stats).
func startLoopWith(t testing.TB, c *dataplane.Core, o loopengine.Options) (string, *atomic.Int64, *loopengine.Engine) {
	t.Helper()
	e := loopengine.New(c, o)
	srv := e.NewServer(nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-srv.Ready():
	case err := <-errc:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return addr, srv.Accepted(), e
}

// loopConn starts the event-loop engine over a new world and dials it: the connection (closed
// when the test ends, reads and writes bounded by deadline), a reader on it, and the count of
// connections the engine accepted.
func loopConn(t *testing.T, o loopengine.Options, deadline time.Duration) (net.Conn, *bufio.Reader, *atomic.Int64, *loopengine.Engine) {
	t.Helper()
	w := newWorld(t)
	addr, accepted, e := startLoopWith(t, w.core, o)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(deadline))
	return conn, bufio.NewReader(conn), accepted, e
}

// wireStep is one request written raw and the status and body expected of its answer.
type wireStep struct {
	req    string
	status int
	body   string // a substring of the body
	length int    // or the body's exact length (> 0)
}

// TestLoopEngineMidConnection: on one connection, requests the loop serves, requests it hands
// to the fasthttp engine (a chunked upload, a non-proxy HTTP integration) and answers it relays
// off the loop (over 1 MB, chunked) follow each other, pipelined in one write or one by one,
// and each is answered in order — the bytes a loop had read before it handed the connection
// over are not lost.
func TestLoopEngineMidConnection(t *testing.T) {
	get := func(path string) string {
		return fmt.Sprintf("GET /restapis/api1/dev/_user_request_%s HTTP/1.1\r\nHost: gw\r\nX-Api-Key: %s\r\n\r\n", path, testKey)
	}
	chunked := fmt.Sprintf("POST /restapis/api1/dev/_user_request_/items/count HTTP/1.1\r\nHost: gw\r\nX-Api-Key: %s\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", testKey)
	seq := []wireStep{
		{req: get("/items/a"), status: 200, body: `"path":"/backend/a"`},
		{req: chunked, status: 200, body: `{"read":11}`},
		{req: get("/mock"), status: 200, body: `{"mock":true}`},
		{req: get("/legacy/404"), status: 400, body: `{"error":"client"}`},
		{req: get("/items/b"), status: 200, body: `"path":"/backend/b"`},
	}
	big := []wireStep{
		{req: get("/items/sized?n=10"), status: 200, length: 10},
		{req: get("/items/sized?n=3145728"), status: 200, length: 3 << 20},
		{req: get("/items/sized?n=20"), status: 200, length: 20},
		{req: get("/items/big?n=2097152"), status: 200, length: 2 << 20},
		{req: get("/mock"), status: 200, body: `{"mock":true}`},
	}
	// Non-proxy HTTP integrations run on the loop: their answers are collected, then select and
	// render an integration response.
	integration := []wireStep{
		{req: get("/legacy/404"), status: 400, body: `{"error":"client"}`},
		{req: get("/legacy/200"), status: 200, body: `{"code":200,"accept":"application/json","ua":"AmazonAPIGateway_api1"}`},
		{req: get("/items/c"), status: 200, body: `"path":"/backend/c"`},
	}
	for _, tc := range []struct {
		name      string
		seq       []wireStep
		pipelined bool
		handoffs  uint64
	}{
		{"integration responses on the loop", integration, false, 0},
		{"integration responses on the loop, pipelined", integration, true, 0},
		{"handed over, one by one", seq, false, 1},
		{"handed over, pipelined", seq, true, 1},
		{"relayed off the loop, one by one", big, false, 0},
		{"relayed off the loop, pipelined", big, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, br, accepted, e := loopConn(t, loopengine.Options{}, 20*time.Second)
			if tc.pipelined {
				var all strings.Builder
				for _, x := range tc.seq {
					all.WriteString(x.req)
				}
				if _, err := io.WriteString(conn, all.String()); err != nil {
					t.Fatal(err)
				}
			}
			for i, x := range tc.seq {
				if !tc.pipelined {
					if _, err := io.WriteString(conn, x.req); err != nil {
						t.Fatal(err)
					}
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("answer %d: %v", i, err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatalf("answer %d: body: %v", i, err)
				}
				if resp.StatusCode != x.status {
					t.Fatalf("answer %d: status %d, want %d: %.200s", i, resp.StatusCode, x.status, body)
				}
				if x.length > 0 && len(body) != x.length || x.body != "" && !strings.Contains(string(body), x.body) {
					t.Fatalf("answer %d: %d bytes %.200q, want %d bytes with %q", i, len(body), body, x.length, x.body)
				}
				if resp.Header.Get(dataplane.RequestIDHeader) == "" {
					t.Errorf("answer %d has no request id", i)
				}
			}
			if n := accepted.Load(); n != 1 {
				t.Errorf("%d connections accepted, want the test's one", n)
			}
			// One handoff at most: after it, the connection is the fasthttp engine's.
			st := e.Stats()
			var total uint64
			for _, n := range st.Handoffs {
				total += n
			}
			if total != tc.handoffs || st.Handoffs[loopengine.ReasonBody] != tc.handoffs {
				t.Errorf("handoffs by reason %v, want %d (for a chunked body)", st.Handoffs, tc.handoffs)
			}
		})
	}
}

// gatedLedger holds every reservation until the gate opens.
type gatedLedger struct {
	quota.Ledger
	gate    chan struct{}
	waiting atomic.Int64
}

func (g *gatedLedger) ReserveQuota(ctx context.Context, k quota.Key, want, limit int64) (int64, int64, error) {
	g.waiting.Add(1)
	<-g.gate
	return g.Ledger.ReserveQuota(ctx, k, want, limit)
}

// TestLoopEngineQuotaDoesNotBlockTheLoop: a key's first request needs a quota lease from the
// ledger; while the ledger takes its time, the loop (one, so every connection is on it) serves
// other requests, and the waiting request is answered once the lease comes.
func TestLoopEngineQuotaDoesNotBlockTheLoop(t *testing.T) {
	w := newWorld(t)
	g := &gatedLedger{Ledger: quotastore.Ledger(quotamem.New()), gate: make(chan struct{})}
	var opened sync.Once
	openGate := func() { opened.Do(func() { close(g.gate) }) }
	counter := quota.New(g, quota.Options{Deadline: time.Minute})
	t.Cleanup(func() { counter.Close(context.Background()) })
	w.core.Swap(buildSnapshotCounter(t, w.backend.URL, closedPort(t), []string{testKey}, &apigw.UsagePlan{
		Quota: &apigw.Quota{Limit: 1000, Period: apigw.PeriodDay}}, counter))
	addr, _, _ := startLoopWith(t, w.core, loopengine.Options{Loops: 1})
	t.Cleanup(openGate) // before the server stops: a failed test must not leave the loop waiting
	base := "http://" + addr + "/restapis/api1/dev/_user_request_"
	client := &http.Client{Timeout: 5 * time.Second}

	// The held request is proxied once its lease comes: its path then still reads right, though
	// the loop has read 20 other requests into the buffer it arrived in (it was copied out).
	type answer struct {
		status int
		body   string
	}
	keyed := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("GET", base+"/items/held-request", nil)
		req.Header.Set("X-Api-Key", testKey)
		resp, err := client.Do(req)
		if err != nil {
			keyed <- answer{}
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		keyed <- answer{resp.StatusCode, string(body)}
	}()
	for deadline := time.Now().Add(5 * time.Second); g.waiting.Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the keyed request never asked the ledger")
		}
		time.Sleep(time.Millisecond)
	}
	for i := range 20 { // the loop is free: keyless requests are answered meanwhile
		resp, err := client.Get(base + "/open")
		if err != nil {
			t.Fatalf("request %d while the ledger waits: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d while the ledger waits: %d", i, resp.StatusCode)
		}
	}
	select {
	case a := <-keyed:
		t.Fatalf("the keyed request was answered (%d) before its lease came", a.status)
	default:
	}
	openGate()
	select {
	case a := <-keyed:
		if a.status != 200 || !strings.Contains(a.body, `"path":"/backend/held-request"`) {
			t.Fatalf("keyed request: %d %s, want 200 from /backend/held-request", a.status, a.body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the keyed request was never answered")
	}
}

// TestLoopEngineTimers: the loop's timers close a connection whose request head or body does
// not arrive in time, and one left idle, each by its own limit (the others set far off).
func TestLoopEngineTimers(t *testing.T) {
	const limit, far = 300 * time.Millisecond, time.Minute
	open := "GET /restapis/api1/dev/_user_request_/open HTTP/1.1\r\nHost: gw\r\n\r\n"
	for _, tc := range []struct {
		name  string
		o     loopengine.Options
		write string
		// answered: a whole response comes first, then the close
		answered bool
	}{
		{"head never ends", loopengine.Options{HeaderTimeout: limit, BodyTimeout: far, IdleTimeout: far},
			"GET /restapis/api1/dev/_user_request_/open HTTP/1.1\r\nHost: gw\r\n", false},
		{"body never ends", loopengine.Options{HeaderTimeout: far, BodyTimeout: limit, IdleTimeout: far},
			"POST /restapis/api1/dev/_user_request_/open HTTP/1.1\r\nHost: gw\r\nContent-Length: 10\r\n\r\nabc", false},
		{"idle after a request", loopengine.Options{HeaderTimeout: far, BodyTimeout: far, IdleTimeout: limit}, open, true},
		{"idle from the start", loopengine.Options{HeaderTimeout: far, BodyTimeout: far, IdleTimeout: limit}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, br, _, _ := loopConn(t, tc.o, 10*time.Second)
			start := time.Now()
			if _, err := io.WriteString(conn, tc.write); err != nil {
				t.Fatal(err)
			}
			if tc.answered {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				if resp.StatusCode != 200 {
					t.Fatalf("status %d", resp.StatusCode)
				}
			}
			rest, err := io.ReadAll(br)
			if err != nil {
				t.Fatalf("the connection was not closed: %v", err)
			}
			if len(rest) > 0 {
				t.Errorf("bytes before the close: %q", rest)
			}
			if d := time.Since(start); d < limit-50*time.Millisecond {
				t.Errorf("closed after %v, before the %v limit", d, limit)
			}
		})
	}
}

// TestLoopEngineHTTP10: an HTTP/1.0 client's connection closes after its answer unless it asked
// for keep-alive, which the answer then confirms (1.0 closes by default).
func TestLoopEngineHTTP10(t *testing.T) {
	for _, tc := range []struct {
		name      string
		keepAlive bool
	}{{"keep-alive asked", true}, {"default close", false}} {
		t.Run(tc.name, func(t *testing.T) {
			conn, br, _, _ := loopConn(t, loopengine.Options{}, 10*time.Second)
			req := "GET /restapis/api1/dev/_user_request_/items/x HTTP/1.0\r\nX-Api-Key: " + testKey + "\r\n"
			if tc.keepAlive {
				req += "Connection: keep-alive\r\n"
			}
			req += "\r\n"
			for i := range 2 {
				if _, err := io.WriteString(conn, req); err != nil {
					t.Fatal(err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("answer %d: %v", i, err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				if resp.StatusCode != 200 {
					t.Fatalf("answer %d: %d", i, resp.StatusCode)
				}
				// (net/http reports "Connection: close" as resp.Close and drops the field.)
				if got := resp.Header.Get("Connection"); tc.keepAlive && !strings.EqualFold(got, "keep-alive") || !tc.keepAlive && !resp.Close {
					t.Fatalf("answer %d: Connection %q, close %v", i, got, resp.Close)
				}
				if !tc.keepAlive {
					if rest, err := io.ReadAll(br); err != nil || len(rest) > 0 {
						t.Fatalf("after the answer: %q, %v; want the close", rest, err)
					}
					return
				}
			}
		})
	}
}

// TestLoopEngineSurvivesGarbage sends mangled requests on connections to the event-loop engine
// (which parses them itself, on a loop every other connection shares), and after each checks
// that the engine still answers a well-formed request on a new connection: no input may crash,
// wedge or poison a loop. The inputs are the seeds below — a loop request, pipelining, handing
// over (chunked, absolute-form), a relay off the loop, refusals — cut, spliced and with bytes
// flipped, from a fixed random seed, so a failure reproduces. (A Go fuzz target does the same
// for the parser itself, FuzzParse in internal/h1; through sockets, a coverage-instrumented
// fuzz worker here made almost no progress.)
func TestLoopEngineSurvivesGarbage(t *testing.T) {
	get := "GET /restapis/api1/dev/_user_request_/items/a HTTP/1.1\r\nHost: gw\r\nX-Api-Key: " + testKey + "\r\n\r\n"
	seeds := []string{
		get,
		get + get,
		"POST /restapis/api1/dev/_user_request_/items/count HTTP/1.1\r\nHost: gw\r\nX-Api-Key: " + testKey + "\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"GET /restapis/api1/dev/_user_request_/items/big?n=100000 HTTP/1.1\r\nHost: gw\r\nX-Api-Key: " + testKey + "\r\n\r\n",
		"GET /restapis/api1/dev/_user_request_/mock HTTP/1.0\r\nX-Api-Key: " + testKey + "\r\n\r\n",
		"GET http://gw/restapis/api1/dev/_user_request_/open HTTP/1.1\r\nHost: gw\r\n\r\n",
		"POST /restapis/api1/dev/_user_request_/open HTTP/1.1\r\nHost: gw\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET /restapis/api1/dev/_user_request_/open HTTP/1.1\nHost: gw\n\n",
		"GET /restapis/api1/dev/_user_request_/legacy/404 HTTP/1.1\r\nHost: gw\r\n\r\n",
		"POST /restapis/api1/dev/_user_request_/items/x HTTP/1.1\r\nHost: gw\r\nX-Api-Key: " + testKey + "\r\nContent-Length: 5\r\n\r\nhello",
	}
	w := newWorld(t)
	addr, _, _ := startLoopWith(t, w.core, loopengine.Options{Loops: 1})
	probe := []byte("GET /restapis/api1/dev/_user_request_/open HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
	rng := rand.New(rand.NewPCG(12, 1))
	for i := range 300 {
		data := []byte(seeds[rng.IntN(len(seeds))])
		switch rng.IntN(4) {
		case 0: // cut
			data = data[:rng.IntN(len(data)+1)]
		case 1: // splice two
			other := seeds[rng.IntN(len(seeds))]
			data = append(data[:rng.IntN(len(data)+1)], other[rng.IntN(len(other)+1):]...)
		}
		for range rng.IntN(4) { // flip bytes
			if len(data) > 0 {
				data[rng.IntN(len(data))] = byte(rng.IntN(256))
			}
		}
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(20 * time.Millisecond))
		_, _ = conn.Write(data)
		_, _ = io.Copy(io.Discard, conn)
		conn.Close()

		check, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = check.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := check.Write(probe); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(check), nil)
		if err != nil {
			t.Fatalf("input %d %q: the engine no longer answers: %v", i, data, err)
		}
		resp.Body.Close()
		check.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("input %d %q: the engine then answers %d", i, data, resp.StatusCode)
		}
	}
}

// TestLoopEngineSlowReader: a client that stops reading a large answer holds back the backend,
// not the loop's memory (past 1 MB behind, the rest of the answer leaves the loop for a
// goroutine with blocking I/O); when it reads again it gets the whole body, Content-Length or
// chunked, and its connection serves its next request.
func TestLoopEngineSlowReader(t *testing.T) {
	const size = 24 << 20
	for _, path := range []string{"/items/sized?n=25165824", "/items/big?n=25165824"} {
		t.Run(path, func(t *testing.T) {
			conn, br, accepted, e := loopConn(t, loopengine.Options{}, 30*time.Second)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			fmt.Fprintf(conn, "GET /restapis/api1/dev/_user_request_%s HTTP/1.1\r\nHost: gw\r\nX-Api-Key: %s\r\n\r\n", path, testKey)
			time.Sleep(700 * time.Millisecond) // not reading: the answer backs up
			runtime.ReadMemStats(&after)
			if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 8<<20 {
				t.Errorf("heap grew by %d MB while the client did not read: the answer was buffered", grew>>20)
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || n != size || resp.StatusCode != 200 {
				t.Fatalf("answer: %d, %d bytes, %v; want 200 with %d bytes", resp.StatusCode, n, err, size)
			}
			fmt.Fprintf(conn, "GET /restapis/api1/dev/_user_request_/mock HTTP/1.1\r\nHost: gw\r\nX-Api-Key: %s\r\n\r\n", testKey)
			resp, err = http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("the next request on the connection: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || !strings.Contains(string(body), `"mock":true`) {
				t.Fatalf("the next request: %d %s", resp.StatusCode, body)
			}
			if n := accepted.Load(); n != 1 {
				t.Errorf("%d connections accepted, want 1", n)
			}
			if st := e.Stats(); st.Relays != 1 {
				t.Errorf("%d answers relayed off the loop, want this one", st.Relays)
			}
		})
	}
}
