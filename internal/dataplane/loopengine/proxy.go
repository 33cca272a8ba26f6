package loopengine

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/panjf2000/gnet/v2"

	"github.com/tollgate/tollgate/internal/dataplane"
	"github.com/tollgate/tollgate/internal/h1"
	"github.com/tollgate/tollgate/internal/obs"
)

// loop is one event loop's state. Only the loop's thread touches it.
type loop struct {
	s  *Server
	el gnet.EventLoop
	// now is the loop's clock for timers and the Date header, read at each sweep.
	now     int64
	clients map[*client]struct{}
	// idle are the loop's keep-alive connections to backends, by host:port.
	idle    map[string][]*upstream
	date    []byte
	dateSec int64
	// busy counts the loop's requests being served, for a shutdown to wait for: one counter per
	// loop, so that two loops never write the same cache line per request.
	busy atomic.Int64
	// sweepFn is sweep as the Runnable OnTick hands the loop (made once, not per tick).
	sweepFn gnet.RunnableFunc
}

func newLoop(s *Server, el gnet.EventLoop) *loop {
	l := &loop{s: s, el: el, now: time.Now().UnixNano(), clients: make(map[*client]struct{}),
		idle: make(map[string][]*upstream)}
	l.sweepFn = l.sweep
	return l
}

// dateLine is the "Date: …\r\n" line for the loop's current second.
func (l *loop) dateLine() []byte {
	if sec := l.now / int64(time.Second); sec != l.dateSec || l.date == nil {
		l.dateSec = sec
		l.date = append(l.date[:0], "Date: "...)
		l.date = time.Unix(sec, 0).UTC().AppendFormat(l.date, "Mon, 02 Jan 2006 15:04:05 GMT")
		l.date = append(l.date, "\r\n"...)
	}
	return l.date
}

// sweep runs the loop's timers: integration timeouts (504), request heads and bodies that do
// not arrive in time, idle connections, and connections whose output has drained.
func (l *loop) sweep(context.Context) error {
	l.now = time.Now().UnixNano()
	for key, list := range l.idle {
		for len(list) > 0 && l.now-list[0].idleSince >= int64(upstreamIdle) {
			u := list[0] // the oldest: the pool is used from its end
			list = list[1:]
			u.gone = true
			_ = u.c.Close()
		}
		if len(list) == 0 {
			delete(l.idle, key)
		} else {
			l.idle[key] = list
		}
	}
	for cl := range l.clients {
		switch {
		case cl.gone:
		case cl.ex != nil && !cl.ex.relaying && l.now >= cl.ex.deadline:
			// Its backend has not answered (or, buffered, not finished) in time.
			cl.ex.fail(dataplane.ErrTimeout, errTimeout)
		case cl.readBy != 0 && l.now >= cl.readBy:
			cl.s.e.connLog.Log(obs.ClassTimeout, cl.c.RemoteAddr(), "")
			cl.gone = true
			_ = cl.c.Close()
		case !cl.busy && cl.readBy == 0 && l.now-cl.idleSince >= l.s.e.idleTimeout && cl.c.OutboundBuffered() == 0:
			// (a client still reading the tail of its last answer is not idle)
			cl.gone = true
			_ = cl.c.Close()
		case cl.flushWait && cl.c.OutboundBuffered() == 0:
			cl.flushWait = false
			if cl.serve() == gnet.Close {
				_ = cl.c.Close()
			}
		case cl.ex != nil && cl.ex.escapeWait && cl.c.OutboundBuffered() == 0:
			cl.ex.escape()
		}
	}
	return nil
}

var errTimeout = errors.New("integration timeout")

// exchange is one request to a backend and the relay of its answer. Each client has one, reused.
type exchange struct {
	cl  *client
	u   *upstream
	key string // the backend's host:port, its pool's key
	req []byte // the request as sent, kept for a retry
	// idempotent requests are sent again once when a kept-alive connection turns out closed
	// before any answer (the backend closed it as it was reused).
	idempotent, retried bool
	head                bool // a HEAD request: the answer has no body
	start               time.Time
	deadline            int64
	// gotHead: the answer's head is in. relaying: it went to the client, and body relays the
	// rest. buffered: the answer is collected whole (respHead, respBody) for an integration
	// response instead (non-proxy HTTP).
	gotHead, relaying, buffered bool
	respHead, respBody          []byte
	resp                        h1.Response // parsed from respHead
	body                        bodyRelay
	closeClient                 bool // the client's connection ends with this answer
	// A client that fell behind makes the loop let go of the backend connection (detached,
	// with upRest, bytes read but not yet relayed) until its output has drained (escapeWait);
	// then a goroutine relays the rest (escape).
	detached    int
	hasDetached bool
	upRest      []byte
	escapeWait  bool
}

// proxy runs an HTTP_PROXY integration (addendum §8.5): the request goes to the backend as the
// Core shapes it (URL, method, forwarded and mapped headers), the answer comes back with the
// hop-by-hop headers dropped and Date, Server and x-amzn-RequestId remapped.
func (cl *client) proxy() gnet.Action {
	call := &cl.call
	up, gerr := cl.upstream()
	if gerr != nil {
		return cl.gatewayResponse(gerr)
	}
	req := &cl.req
	// Forwarded headers, in canonical form (the arena holds the names; sized so that it never
	// moves while strings point into it).
	if need := cl.req.HeadLen*2 + 256; cap(cl.arena) < need {
		cl.arena = make([]byte, 0, need)
	}
	arena := cl.arena[:0]
	fwd := cl.fwd[:0]
	var conn string
	for _, h := range req.Headers {
		if equalFold(h.Name, "Connection") {
			if conn != "" {
				conn += "," + b2s(h.Value) // rare: a second Connection field
			} else {
				conn = b2s(h.Value)
			}
		}
	}
	hostPort := dataplane.ForwardedPort(b2s(req.Host))
	var prior string
	for _, h := range req.Headers {
		at := len(arena)
		arena = appendCanonical(arena, h.Name)
		name := b2s(arena[at:])
		if !dataplane.ForwardRequestHeader(name) || conn != "" && dataplane.ConnectionListed(conn, name) {
			continue
		}
		switch name {
		case "X-Forwarded-For":
			if prior == "" {
				prior = b2s(h.Value)
			}
			continue
		case "X-Forwarded-Proto", "X-Amzn-Apigateway-Api-Id":
			continue
		case "X-Forwarded-Port":
			if hostPort != "" {
				continue
			}
		}
		fwd = append(fwd, kv{name, b2s(h.Value)})
	}
	fwd = append(fwd, kv{"X-Amzn-Apigateway-Api-Id", call.Stage.API.ID})
	if cl.peer.IsValid() {
		at := len(arena)
		arena = dataplane.AppendForwardedFor(arena, prior, cl.peer)
		fwd = append(fwd, kv{"X-Forwarded-For", b2s(arena[at:])})
	}
	if hostPort != "" {
		fwd = append(fwd, kv{"X-Forwarded-Port", hostPort})
	}
	fwd = append(fwd, kv{"X-Forwarded-Proto", "http"})
	cl.fwd, cl.upHost = fwd, up.Host
	if err := call.MapRequestHeaders(in{cl}, upHeaders{cl}); err != nil {
		return cl.gatewayResponse(dataplane.ErrInternal)
	}

	var length int64 = -1
	if req.ContentLength >= 0 {
		length = req.ContentLength
	}
	cl.exchange(&up, cl.raw[req.HeadLen:], length, false)
	return gnet.None
}

// integrate runs a non-proxy HTTP integration (addendum §8.6): only mapped parameters and the
// request template (or the client's body) reach the backend, and its whole answer, at most the
// payload limit, selects and renders the integration response.
func (cl *client) integrate() gnet.Action {
	call := &cl.call
	tmpl, useTemplate, gerr := call.RequestBody(in{cl})
	if gerr != nil {
		return cl.gatewayResponse(gerr)
	}
	up, gerr := cl.upstream()
	if gerr != nil {
		return cl.gatewayResponse(gerr)
	}
	req := &cl.req
	id := call.Stage.API.ID
	if need := len(id) + 64; cap(cl.arena) < need {
		cl.arena = make([]byte, 0, need)
	}
	ua := append(append(cl.arena[:0], "AmazonAPIGateway_"...), id...)
	fwd := append(cl.fwd[:0], kv{"Accept", "application/json"}, kv{"User-Agent", b2s(ua)}, kv{"X-Amzn-Apigateway-Api-Id", id})
	body, length := cl.raw[req.HeadLen:], req.ContentLength
	if useTemplate {
		body, length = unsafe.Slice(unsafe.StringData(tmpl), len(tmpl)), int64(len(tmpl)) // the snapshot's: never written
	}
	if ct := (in{cl}).Header("Content-Type"); ct != "" && length != 0 {
		fwd = append(fwd, kv{"Content-Type", ct})
	}
	cl.fwd, cl.upHost = fwd, up.Host
	if err := call.MapRequestHeaders(in{cl}, upHeaders{cl}); err != nil {
		return cl.gatewayResponse(dataplane.ErrInternal)
	}
	if length < 0 && len(body) > 0 {
		length = int64(len(body))
	}
	cl.exchange(&up, body, length, true)
	return gnet.None
}

// exchange sends the upstream request built so far (cl.fwd, cl.upHost) with body (Content-Length
// length, -1: none) to the backend of up. buffered: the answer is collected whole for an
// integration response instead of relayed.
func (cl *client) exchange(up *dataplane.Upstream, body []byte, length int64, buffered bool) {
	call := &cl.call
	ex := &cl.exch
	*ex = exchange{cl: cl, key: up.DialTo, req: ex.req[:0], buffered: buffered, respHead: ex.respHead[:0], respBody: ex.respBody[:0]}
	method := call.UpstreamMethod(in{cl})
	b := append(ex.req, method...)
	b = append(b, ' ')
	if target := up.URL[up.PathAt:]; len(target) > 0 && target[0] == '/' {
		b = append(b, target...)
	} else {
		b = append(b, '/')
		b = append(b, target...)
	}
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, cl.upHost...)
	b = append(b, "\r\n"...)
	for _, h := range cl.fwd {
		b = append(b, h.name...)
		b = append(b, ": "...)
		b = append(b, h.value...)
		b = append(b, "\r\n"...)
	}
	if length >= 0 {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, length, 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, body...)
	ex.req = b
	ex.head = method == "HEAD"
	switch method {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		ex.idempotent = true
	}
	ex.start = time.Now()
	ex.deadline = ex.start.Add(call.Integration().Timeout).UnixNano()
	cl.ex = ex
	cl.l.send(ex, false)
}

// upstream addresses the call's backend (its URL built in cl.url), or says which gateway
// response to send instead.
func (cl *client) upstream() (dataplane.Upstream, *dataplane.GatewayError) {
	up, err := cl.call.Upstream(cl.url[:0], in{cl})
	if err != nil {
		return up, dataplane.UpstreamError(err)
	}
	cl.url = up.URL
	if up.Scheme != "http" { // runsOnLoop lets only http:// URIs here
		return up, dataplane.ErrInternal
	}
	return up, nil
}

// upHeaders adapts the upstream request's headers to dataplane.HeaderSink: a mapping replaces
// every value of its header, and a mapped Host is the Host sent.
type upHeaders struct{ cl *client }

func (u upHeaders) SetHeader(name, value string) {
	cl := u.cl
	if name == "Host" {
		cl.upHost = value
		return
	}
	out := cl.fwd[:0]
	for _, h := range cl.fwd {
		if h.name != name {
			out = append(out, h)
		}
	}
	cl.fwd = append(out, kv{name, value})
}

// upstream is a connection to a backend: idle in its loop's pool, or carrying one exchange.
type upstream struct {
	c    gnet.Conn
	l    *loop
	key  string
	ex   *exchange
	resp h1.Response
	// used: it has carried an exchange, so a close before any answer may be the backend
	// closing a kept-alive connection as it was reused; got: bytes of the answer arrived.
	used, got bool
	gone      bool
	idleSince int64 // when it joined the pool
}

// dialAddr names a backend by host:port for gnet's dialler, which resolves it off the loop.
type dialAddr string

func (dialAddr) Network() string  { return "tcp" }
func (a dialAddr) String() string { return string(a) }

// send sends the exchange's request on an idle connection to its backend, or dials one (fresh:
// never a pooled one, for a retry).
func (l *loop) send(ex *exchange, fresh bool) {
	if list := l.idle[ex.key]; len(list) > 0 && !fresh {
		u := list[len(list)-1]
		l.idle[ex.key] = list[:len(list)-1]
		u.ex, u.got, ex.u = ex, false, u
		_, _ = u.c.Write(ex.req)
		return
	}
	u := &upstream{l: l, key: ex.key, ex: ex}
	ex.u = u
	res, err := l.el.Register(gnet.NewContext(background, u), dialAddr(ex.key))
	if err != nil {
		u.gone = true
		ex.fail(dataplane.ErrBadGateway, err)
		return
	}
	go func() { // a failed dial is reported here, off the loop: answer the client on it
		if r := <-res; r.Err != nil {
			_ = l.el.Execute(background, gnet.RunnableFunc(func(context.Context) error {
				u.gone = true
				if u.ex != nil {
					u.ex.fail(dataplane.ErrBadGateway, r.Err)
				}
				return nil
			}))
		}
	}()
}

// opened is a dialled connection's start: it sends its exchange's request, or, when that
// exchange ended meanwhile (a timeout, the client gone), joins the pool.
func (u *upstream) opened(c gnet.Conn) []byte {
	u.c = c
	if u.ex == nil {
		u.idleSince = u.l.now
		u.l.idle[u.key] = append(u.l.idle[u.key], u)
		return nil
	}
	return u.ex.req
}

// answer reads the backend's answer and relays it to the client as it arrives: the head and
// whatever body came with it in one write, then each piece of body as it comes.
func (u *upstream) answer() gnet.Action {
	ex := u.ex
	if ex == nil || u.gone {
		// An idle connection spoke out of turn: its framing cannot be trusted.
		u.drop()
		return gnet.Close
	}
	u.got = true
	buf, _ := u.c.Peek(-1)
	cl := ex.cl
	out := cl.out[:0]
	if !ex.gotHead {
		for {
			err := u.resp.Parse(buf, ex.head)
			if err == h1.ErrIncomplete {
				return gnet.None
			}
			if err != nil {
				ex.fail(dataplane.ErrBadGateway, err)
				return gnet.Close
			}
			if s := u.resp.Status; s >= 100 && s < 200 {
				if s == 101 { // no upgrade was asked for
					ex.fail(dataplane.ErrBadGateway, errors.New("unexpected 101"))
					return gnet.Close
				}
				_, _ = u.c.Discard(u.resp.HeadLen) // an interim answer: the final one follows
				buf = buf[u.resp.HeadLen:]
				continue
			}
			break
		}
		call := &cl.call
		call.Integrated, call.IntegrationLatency, call.IntegrationStatus = true, time.Since(ex.start), u.resp.Status
		ex.gotHead = true
		if ex.buffered {
			// Kept for the integration response: the head (its fields are what the
			// response parameters map), then the body as it comes.
			ex.respHead = append(ex.respHead[:0], buf[:u.resp.HeadLen]...)
			if err := ex.resp.Parse(ex.respHead, ex.head); err != nil { // the same bytes
				ex.fail(dataplane.ErrBadGateway, err)
				return gnet.Close
			}
			ex.body = bodyRelay{framing: u.resp.Body, left: u.resp.ContentLength, parts: ex.body.parts[:0]}
			_, _ = u.c.Discard(u.resp.HeadLen)
			buf = buf[u.resp.HeadLen:]
		}
	}
	if ex.buffered {
		return u.collect(buf)
	}
	if !ex.relaying {
		ex.relaying = true
		r := &ex.body
		framing := u.resp.Body
		*r = bodyRelay{framing: framing, left: u.resp.ContentLength, parts: r.parts[:0]}
		unsized := framing == h1.BodyChunked || framing == h1.BodyClose
		r.rechunk = unsized && cl.req.Minor >= 1
		// An HTTP/1.0 client learns where an unsized body ends from the close.
		ex.closeClient = cl.req.Close || cl.s.draining.Load() || unsized && !r.rechunk
		out = cl.appendResponseHead(out, &u.resp, ex.closeClient, r.rechunk)
		cl.done.Status, cl.done.Length = u.resp.Status, -1
		switch framing {
		case h1.BodyLength:
			cl.done.Length = u.resp.ContentLength
		case h1.BodyNone:
			cl.done.Length = 0
		}
		_, _ = u.c.Discard(u.resp.HeadLen)
		buf = buf[u.resp.HeadLen:]
	}
	used, out, done, err := ex.body.pump(buf, out)
	cl.out = out
	_, _ = u.c.Discard(used)
	switch {
	case err == errExtra:
		u.gone = true // the answer is whole, but the connection cannot carry another
	case err != nil:
		// A malformed body: the client's answer cannot be completed, only cut.
		if len(out) > 0 {
			_, _ = cl.c.Write(out)
		}
		u.release(false)
		_ = cl.c.Close() // its closed() reports the request (busy until then)
		return gnet.Close
	}
	if done {
		keep := !u.resp.Close && !u.gone
		u.release(keep)
		cl.complete(ex.closeClient, out)
		if !keep {
			return gnet.Close
		}
		return gnet.None
	}
	if len(out) > 0 {
		_, _ = cl.c.Write(out) // gnet copies what the socket does not take at once
	}
	if cl.c.OutboundBuffered() > maxLoopResponse {
		return u.detach()
	}
	return gnet.None
}

// collect gathers a buffered answer's body (at most the payload limit, as on the other
// engines) and, once it is whole, answers with the integration response it selects.
func (u *upstream) collect(buf []byte) gnet.Action {
	ex := u.ex
	used, body, done, err := ex.body.pump(buf, ex.respBody)
	ex.respBody = body
	_, _ = u.c.Discard(used)
	switch {
	case len(ex.respBody) > dataplane.MaxPayload:
		ex.fail(dataplane.ErrBadGateway, errors.New("backend answer over the payload limit"))
		return gnet.Close
	case err == errExtra:
		u.gone = true
	case err != nil:
		ex.fail(dataplane.ErrBadGateway, err)
		return gnet.Close
	}
	if !done {
		return gnet.None
	}
	keep := !u.resp.Close && !u.gone
	u.release(keep)
	ex.cl.integrated(ex)
	if !keep {
		return gnet.Close
	}
	return gnet.None
}

// integrated answers a non-proxy HTTP integration from its backend's whole answer: the
// integration response its status selects, rendered with the backend's headers and body.
func (cl *client) integrated(ex *exchange) {
	call := &cl.call
	var a gnet.Action
	if reply, gerr := call.SelectReply(ex.resp.Status); gerr != nil {
		a = cl.gatewayResponse(gerr)
	} else {
		body := reply.Render(in{cl}.Header("Accept"), backendHeaders{&ex.resp}, b2s(ex.respBody), headers{cl})
		a = cl.respond(reply.Status(), body)
	}
	if a == gnet.Close || cl.serve() == gnet.Close {
		_ = cl.c.Close()
	}
}

// backendHeaders adapts a backend answer's head to dataplane.HeaderSource.
type backendHeaders struct{ r *h1.Response }

func (b backendHeaders) Header(name string) string {
	for _, h := range b.r.Headers {
		if equalFold(h.Name, name) {
			return b2s(h.Value)
		}
	}
	return ""
}

// appendResponseHead appends the client's response head for a backend's answer: its status
// and headers less the hop-by-hop ones, the remapped ones renamed, the gateway's own.
func (cl *client) appendResponseHead(b []byte, r *h1.Response, closeAfter, chunked bool) []byte {
	b = appendStatusLine(b, r.Status, b2s(r.Reason))
	var conn string
	for _, h := range r.Headers {
		if equalFold(h.Name, "Connection") {
			conn = b2s(h.Value)
		}
	}
	at := len(cl.arena)
	for _, h := range r.Headers {
		cl.arena = appendCanonical(cl.arena[:at], h.Name)
		name := b2s(cl.arena[at:])
		drop, remap := dataplane.ResponseHeaderRule(name)
		switch {
		case drop, conn != "" && dataplane.ConnectionListed(conn, name):
			continue
		case remap != "":
			name = remap
		}
		b = append(b, name...)
		b = append(b, ": "...)
		b = append(b, h.Value...)
		b = append(b, "\r\n"...)
	}
	cl.arena = cl.arena[:at]
	b = cl.appendHeaders(b)
	if chunked {
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	b = cl.appendConnection(b, closeAfter)
	return append(b, "\r\n"...)
}

// complete finishes a relayed answer: the request is reported, its last bytes sent, and the
// client's next request, if it sent one, served (closeAfter: the connection ends with this
// answer). Reported first, as on the other engines: a client that has its whole answer finds
// it in the statistics and the access log.
func (cl *client) complete(closeAfter bool, last []byte) {
	cl.finished()
	if len(last) > 0 {
		_, _ = cl.c.Write(last)
	}
	if closeAfter {
		cl.gone = true
		_ = cl.c.Close()
		return
	}
	if cl.serve() == gnet.Close {
		_ = cl.c.Close()
	}
}

// release ends the connection's exchange: back to the pool (keep), or closed.
func (u *upstream) release(keep bool) {
	if ex := u.ex; ex != nil {
		ex.u = nil
	}
	u.ex = nil
	if keep {
		u.used, u.idleSince = true, u.l.now
		u.l.idle[u.key] = append(u.l.idle[u.key], u)
		return
	}
	u.gone = true
}

// drop takes the connection out of its pool; its closing follows.
func (u *upstream) drop() {
	u.gone = true
	list := u.l.idle[u.key]
	for i, v := range list {
		if v == u {
			u.l.idle[u.key] = append(list[:i], list[i+1:]...)
			break
		}
	}
}

// closed is the backend connection's end. An exchange still on it is retried (a kept-alive
// connection closed before any answer, for an idempotent request), failed (502, before its
// answer's head) or cut (the client's connection closes: its body cannot be completed).
func (u *upstream) closed(err error) {
	u.drop()
	ex := u.ex
	if ex == nil {
		return
	}
	u.ex, ex.u = nil, nil
	switch {
	case ex.buffered && ex.gotHead && ex.body.framing == h1.BodyClose:
		// The close ends such a body: the answer is whole.
		ex.cl.integrated(ex)
	case ex.relaying && ex.body.framing == h1.BodyClose:
		// The close ends such a body: the answer is whole.
		cl := ex.cl
		cl.out = ex.body.end(cl.out[:0])
		cl.complete(ex.closeClient, cl.out)
	case ex.relaying:
		_ = ex.cl.c.Close() // cut short: its closed() reports the request (busy until then)
	case !u.got && u.used && ex.idempotent && !ex.retried:
		ex.retried = true
		u.l.send(ex, true)
	default:
		if err == nil {
			err = errors.New("backend closed the connection")
		}
		ex.fail(dataplane.ErrBadGateway, err)
	}
}

// fail answers an exchange whose backend failed before its answer's head: 502, or 504 for
// the timeout. Its connection, if any, is closed.
func (ex *exchange) fail(gerr *dataplane.GatewayError, err error) {
	cl := ex.cl
	if u := ex.u; u != nil {
		u.ex, ex.u = nil, nil
		u.gone = true
		if u.c != nil {
			_ = u.c.Close()
		}
	}
	if cl.ex != ex || cl.gone {
		return
	}
	call := &cl.call
	if !call.Integrated {
		call.Integrated, call.IntegrationLatency = true, time.Since(ex.start)
	}
	call.BackendFailed(call.RequestID, gerr, err)
	cl.ex = nil
	if cl.gatewayResponse(gerr) == gnet.Close {
		_ = cl.c.Close()
		return
	}
	if cl.serve() == gnet.Close {
		_ = cl.c.Close()
	}
}

// abandon ends an exchange whose client left: its connection is closed (the rest of an answer
// would have to be read to keep it).
func (ex *exchange) abandon() {
	if ex.hasDetached {
		ex.hasDetached = false
		_ = closeFD(ex.detached)
	}
	if u := ex.u; u != nil {
		u.ex, ex.u = nil, nil
		u.gone = true
		if u.c != nil {
			_ = u.c.Close()
		}
	}
}

var _ net.Addr = dialAddr("")
