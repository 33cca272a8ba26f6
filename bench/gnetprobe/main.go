// Command gnetprobe is issue 12's event-loop probe on panjf2000/gnet/v2: the fastprobe's work (a
// map lookup of x-api-key, one atomic counter, proxy to the backend with upstream keep-alive)
// done the way nginx does it. One event loop per core reads every ready socket after one
// epoll_wait; each loop keeps its own pool of upstream connections, registered on the same loop,
// so a request and its upstream exchange never leave the loop's thread: no goroutine per
// connection, no park and wake, no lock.
//
// It is a probe, not a product. Its HTTP/1.1 handling is the minimum the bench's traffic needs:
// a request is its head up to the blank line and a Content-Length body (chunked requests are
// refused with 501), and the backend's answers carry Content-Length. Requests are forwarded
// byte for byte. What an engine built on it must add (a complete parser, smuggling defences,
// streaming bodies, timeouts) is issue 12's work, measured against this floor.
package main

import (
	"bytes"
	"context"
	"errors"
	"log"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/logging"

	"github.com/tollgate/tollgate/bench/internal/probe"
)

// maxHead bounds a request or response head; a longer one closes the connection.
const maxHead = 16 << 10

var (
	resp403 = []byte("HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: 24\r\n\r\n{\"message\":\"Forbidden\"}\n")
	resp400 = []byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	resp501 = []byte("HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	resp502 = []byte("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
)

type proxy struct {
	gnet.BuiltinEventEngine
	backend *net.TCPAddr
	keys    map[string]*atomic.Int64
	loops   sync.Map // gnet.EventLoop -> *loop
}

// loop is one event loop's upstream pool; only that loop's thread touches it.
type loop struct {
	idle []*upstream
}

// client is an inbound connection; at most one of its requests is at the backend at a time
// (pipelined requests wait in the inbound buffer).
type client struct {
	c        gnet.Conn
	loop     *loop
	inflight bool
	closed   bool
}

// upstream is a connection to the backend, idle in its loop's pool or serving one client.
type upstream struct {
	c       gnet.Conn
	loop    *loop
	client  *client
	pending []byte // the request to send once the connection is open
}

func (p *proxy) loopOf(c gnet.Conn) *loop {
	el := c.EventLoop()
	if l, ok := p.loops.Load(el); ok {
		return l.(*loop)
	}
	l, _ := p.loops.LoadOrStore(el, &loop{})
	return l.(*loop)
}

func (p *proxy) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	if u, ok := c.Context().(*upstream); ok { // a connection Register opened for a request
		u.c = c
		if u.client.closed {
			u.client = nil
			u.loop.idle = append(u.loop.idle, u)
			return nil, gnet.None
		}
		req := u.pending
		u.pending = nil
		return req, gnet.None
	}
	c.SetContext(&client{c: c, loop: p.loopOf(c)})
	return nil, gnet.None
}

func (p *proxy) OnClose(c gnet.Conn, _ error) gnet.Action {
	switch x := c.Context().(type) {
	case *client:
		x.closed = true
	case *upstream:
		for i, u := range x.loop.idle {
			if u == x {
				x.loop.idle = append(x.loop.idle[:i], x.loop.idle[i+1:]...)
				break
			}
		}
		if cl := x.client; cl != nil && !cl.closed {
			cl.inflight = false
			_, _ = cl.c.Write(resp502)
		}
	}
	return gnet.None
}

func (p *proxy) OnTraffic(c gnet.Conn) gnet.Action {
	switch x := c.Context().(type) {
	case *client:
		return p.serve(x)
	case *upstream:
		return p.answer(x)
	}
	return gnet.Close
}

// serve forwards the client's next buffered request, if it has one and none is in flight.
func (p *proxy) serve(cl *client) gnet.Action {
	c := cl.c
	for !cl.inflight {
		buf, _ := c.Peek(-1)
		if len(buf) == 0 {
			return gnet.None
		}
		end := bytes.Index(buf, []byte("\r\n\r\n"))
		if end < 0 {
			if len(buf) > maxHead {
				_, _ = c.Write(resp400)
				return gnet.Close
			}
			return gnet.None
		}
		head := buf[:end+4]
		key, length, chunked, ok := requestHeaders(head)
		if !ok {
			_, _ = c.Write(resp400)
			return gnet.Close
		}
		if chunked {
			_, _ = c.Write(resp501)
			return gnet.Close
		}
		total := len(head) + length
		if len(buf) < total {
			return gnet.None // the body is still coming
		}
		if len(p.keys) > 0 {
			n := p.keys[string(key)] // no allocation: the compiler looks up without converting
			if n == nil {
				_, _ = c.Discard(total)
				_, _ = c.Write(resp403)
				continue
			}
			n.Add(1)
		}
		cl.inflight = true
		p.forward(cl, buf[:total])
		_, _ = c.Discard(total)
	}
	return gnet.None
}

// forward sends req (valid until the caller's Discard) to an idle upstream connection of the
// client's loop, or opens one.
func (p *proxy) forward(cl *client, req []byte) {
	l := cl.loop
	if n := len(l.idle); n > 0 {
		u := l.idle[n-1]
		l.idle = l.idle[:n-1]
		u.client = cl
		if _, err := u.c.Write(req); err != nil {
			u.client = nil
			cl.inflight = false
			_, _ = cl.c.Write(resp502)
		}
		return
	}
	u := &upstream{loop: l, client: cl, pending: bytes.Clone(req)}
	el := cl.c.EventLoop()
	res, err := el.Register(gnet.NewContext(context.Background(), u), p.backend)
	if err != nil {
		cl.inflight = false
		_, _ = cl.c.Write(resp502)
		return
	}
	go func() { // a failed dial is reported here, off the loop: answer the client on it
		if r := <-res; r.Err != nil {
			_ = el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
				if !cl.closed {
					cl.inflight = false
					_, _ = cl.c.Write(resp502)
				}
				return nil
			}))
		}
	}()
}

// answer relays a complete response from the backend to its client and returns the connection
// to the pool.
func (p *proxy) answer(u *upstream) gnet.Action {
	c := u.c
	buf, _ := c.Peek(-1)
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 {
		if len(buf) > maxHead {
			return gnet.Close
		}
		return gnet.None
	}
	length, ok := contentLength(buf[:end+4])
	if !ok {
		return gnet.Close // the probe's backend always sends Content-Length
	}
	total := end + 4 + length
	if len(buf) < total {
		return gnet.None
	}
	cl := u.client
	u.client = nil
	if cl != nil && !cl.closed {
		_, _ = cl.c.Write(buf[:total])
		cl.inflight = false
	}
	_, _ = c.Discard(total)
	u.loop.idle = append(u.loop.idle, u)
	if cl != nil && !cl.closed {
		p.serve(cl) // a pipelined request may be waiting
	}
	return gnet.None
}

// requestHeaders reads the x-api-key and Content-Length of a request head and whether its body
// is chunked. ok is false for a head the probe cannot forward safely (two lengths, a bad one).
func requestHeaders(head []byte) (key []byte, length int, chunked, ok bool) {
	length = 0
	seenLength := false
	for line := range bytes.SplitSeq(head, []byte("\r\n")) {
		name, value, found := bytes.Cut(line, []byte(":"))
		if !found {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("x-api-key")):
			key = value
		case bytes.EqualFold(name, []byte("content-length")):
			n, err := strconv.Atoi(string(value))
			if err != nil || n < 0 || seenLength {
				return nil, 0, false, false
			}
			length, seenLength = n, true
		case bytes.EqualFold(name, []byte("transfer-encoding")):
			chunked = true
		}
	}
	return key, length, chunked, true
}

// contentLength is a response head's Content-Length.
func contentLength(head []byte) (int, bool) {
	for line := range bytes.SplitSeq(head, []byte("\r\n")) {
		name, value, found := bytes.Cut(line, []byte(":"))
		if found && bytes.EqualFold(name, []byte("content-length")) {
			n, err := strconv.Atoi(string(bytes.TrimSpace(value)))
			return n, err == nil && n >= 0
		}
	}
	return 0, false
}

func main() {
	addr, backend, keys := probe.Setup("127.0.0.1:8083")
	p := &proxy{keys: keys}
	var err error
	if p.backend, err = net.ResolveTCPAddr("tcp", backend); err != nil {
		log.Fatal(err)
	}
	err = gnet.Run(p, "tcp://"+addr, gnet.WithMulticore(true), gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithLogLevel(logging.ErrorLevel))
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Fatal(err)
	}
}
