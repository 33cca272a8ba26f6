package loopengine

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"time"
	"unsafe"

	"github.com/panjf2000/gnet/v2"

	"github.com/tollgate/tollgate/internal/dataplane"
	"github.com/tollgate/tollgate/internal/h1"
	"github.com/tollgate/tollgate/internal/obs"
)

// client is one inbound connection. Only its loop's thread touches it, except a quota decision
// in flight (waiting), whose goroutine hands its answer back through the loop.
type client struct {
	c    gnet.Conn
	l    *loop
	s    *Server
	peer netip.Addr

	// The request being served: its bytes copied out of gnet's buffers (raw), parsed (req), and
	// what the Core made of it. One request at a time: pipelined ones wait in gnet's buffer.
	raw  []byte
	req  h1.Request
	call dataplane.Call
	done dataplane.Done
	busy bool // a request is being served (its quota decided, or its backend called)
	// waiting: a goroutine is deciding the quota; the loop must not touch call meanwhile.
	waiting bool
	ex      *exchange
	exch    exchange
	// flushWait: the next request waits until the last response has left (a client that does
	// not read holds back its own pipelined requests, not the loop's memory).
	flushWait bool
	// pending is a request taken from gnet's buffer that waits, with flushWait, to be handed
	// over with its connection (for pendingWhy).
	pending    []byte
	pendingWhy Reason

	// The upstream request being built: forwarded headers and Host; url holds its URL.
	fwd    []kv
	upHost string
	url    []byte

	// Response building: request ids, the headers the Core sets, the head written.
	rid, apigw [40]byte
	hdrs       []kv
	out        []byte
	arena      []byte // canonical header names, X-Forwarded-For

	// Timers, in the loop's clock (Unix ns): a request head or body being read must be whole by
	// readBy; an idle connection closes idleTimeout after idleSince.
	readBy    int64
	reading   uint8 // readingHead or readingBody while a request is incomplete
	idleSince int64
	gone      bool // closed, or handed over: no more events concern it
}

type kv struct{ name, value string }

// What an incomplete request waits for.
const (
	readingHead = 1 + iota
	readingBody
)

// serve reads and serves the connection's requests, one at a time.
func (cl *client) serve() gnet.Action {
	for !cl.busy && !cl.gone {
		buf, _ := cl.c.Peek(-1)
		if len(buf) == 0 && len(cl.pending) == 0 {
			return gnet.None
		}
		if cl.c.OutboundBuffered() > 0 {
			cl.flushWait = true
			return gnet.None
		}
		if len(cl.pending) > 0 {
			return cl.handoff(nil, cl.pendingWhy)
		}
		err := cl.req.Parse(buf)
		if err == h1.ErrIncomplete {
			if cl.reading == 0 {
				cl.reading, cl.readBy = readingHead, cl.l.now+cl.s.e.headerTimeout
			}
			return gnet.None
		}
		if err != nil {
			return cl.refuse(err)
		}
		req := &cl.req
		path, ok := originPath(req.Target)
		switch {
		case !ok:
			return cl.handoff(nil, ReasonTarget)
		case cl.s.e.offLoop:
			return cl.handoff(nil, ReasonCounters)
		case cl.s.mgmt && !dataplane.IsDataPlane(b2s(req.Host), b2s(path)):
			return cl.handoff(nil, ReasonManagement)
		case req.Chunked || req.ExpectContinue || req.ContentLength > maxLoopBody:
			return cl.handoff(nil, ReasonBody)
		}
		total := req.HeadLen + int(max(req.ContentLength, 0))
		if len(buf) < total {
			if cl.reading != readingBody { // the body's whole time starts once, not per read
				cl.reading, cl.readBy = readingBody, cl.l.now+cl.s.e.bodyTimeout
			}
			return gnet.None
		}
		// The request is whole: copy it out of gnet's buffers, which the next read reuses, so
		// that it outlives this event (a backend call, a quota decision).
		cl.raw = append(cl.raw[:0], buf[:total]...)
		cl.rebase(buf)
		_, _ = cl.c.Discard(total)
		cl.reading, cl.readBy = 0, 0
		if a := cl.start(); a != gnet.None {
			return a
		}
	}
	return gnet.None
}

// rebase points the parsed request's fields, which alias buf, at the same bytes of cl.raw (a
// copy of buf's start), instead of parsing the copy a second time.
func (cl *client) rebase(buf []byte) {
	base := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	at := func(b []byte) []byte {
		if len(b) == 0 {
			return nil
		}
		off := int(uintptr(unsafe.Pointer(unsafe.SliceData(b))) - base)
		return cl.raw[off : off+len(b) : off+len(b)] // every field lies in the head, within raw
	}
	r := &cl.req
	r.Method, r.Target, r.Host = at(r.Method), at(r.Target), at(r.Host)
	for i := range r.Headers {
		h := &r.Headers[i]
		h.Name, h.Value = at(h.Name), at(h.Value)
	}
}

// originPath is the path of an origin-form request-target ("/path?query"); other forms
// (absolute, authority, asterisk) go to the fasthttp engine.
func originPath(target []byte) ([]byte, bool) {
	if len(target) == 0 || target[0] != '/' {
		return nil, false
	}
	for i, c := range target {
		if c == '?' {
			return target[:i], true
		}
	}
	return target, true
}

// refuse answers a request head that cannot be served (400, 431, 501, 505, 417) and closes the
// connection: its framing is in doubt. The log line has the class and a request id, never the
// head (it may hold a key or a signature).
func (cl *client) refuse(err error) gnet.Action {
	status, class := http.StatusBadRequest, obs.ClassBadHeaders
	var he *h1.Error
	if errors.As(err, &he) {
		status = he.Status
	}
	if status == http.StatusRequestHeaderFieldsTooLarge {
		class = obs.ClassLargeHeaders
	}
	rid := dataplane.AppendRequestID(cl.rid[:0])
	cl.hdrs = append(cl.hdrs[:0], kv{"Content-Type", "application/json"}, kv{dataplane.RequestIDHeader, b2s(rid)})
	cl.writeResponse(status, `{"message":"Bad Request"}`, true, false)
	cl.s.e.connLog.Log(class, cl.c.RemoteAddr(), string(rid))
	cl.gone = true
	return gnet.Close
}

// background bounds quota-lease refills, as on the other engines (a shutdown lets requests in
// flight finish).
var background = context.Background()

// start admits the request in cl.raw and runs it, or hands it over.
func (cl *client) start() gnet.Action {
	cl.busy = true
	cl.l.busy.Add(1)
	cl.call = dataplane.Call{NoWait: true}
	cl.done = dataplane.Done{Start: time.Now()}
	cl.hdrs = cl.hdrs[:0]
	rid := dataplane.AppendRequestID(cl.rid[:0])
	cl.call.RequestID = b2s(rid)
	cl.hdrs = append(cl.hdrs, kv{dataplane.RequestIDHeader, b2s(rid)},
		kv{dataplane.ApigwIDHeader, b2s(dataplane.AppendApigwID(cl.apigw[:0]))})
	req := &cl.req
	path, _ := originPath(req.Target)
	gerr := cl.s.e.core.Admit(background, in{cl}, b2s(req.Host), b2s(path), req.ContentLength, &cl.call)
	if cl.call.Handoff {
		cl.busy = false
		cl.l.busy.Add(-1)
		return cl.handoff(cl.raw, ReasonMethod)
	}
	if gerr == nil && cl.call.Pending() {
		cl.waiting = true
		go cl.resume()
		return gnet.None
	}
	return cl.admitted(gerr)
}

// resume decides a pending quota off the loop, then continues on it.
func (cl *client) resume() {
	gerr := cl.s.e.core.Resume(background, &cl.call)
	err := cl.c.EventLoop().Execute(background, gnet.RunnableFunc(func(context.Context) error {
		cl.waiting = false
		if cl.gone { // the client left while its quota was decided: nothing was sent
			cl.finished()
			return nil
		}
		if cl.admitted(gerr) == gnet.Close || cl.serve() == gnet.Close {
			_ = cl.c.Close()
		}
		return nil
	}))
	if err != nil { // the loops stopped: the connection is gone with them
		cl.l.busy.Add(-1)
	}
}

// admitted runs an admitted request's integration, or sends the gateway response.
func (cl *client) admitted(gerr *dataplane.GatewayError) gnet.Action {
	call := &cl.call
	cl.s.e.core.LimitHeaders(call, gerr, headers{cl})
	if gerr != nil {
		return cl.gatewayResponse(gerr)
	}
	switch call.Kind {
	case dataplane.KindMock:
		reply, gerr := call.Mock(in{cl})
		if gerr != nil {
			return cl.gatewayResponse(gerr)
		}
		body := reply.Render(in{cl}.Header("Accept"), nil, "", headers{cl})
		return cl.respond(reply.Status(), body)
	case dataplane.KindHTTPProxy:
		return cl.proxy()
	case dataplane.KindHTTP:
		return cl.integrate()
	}
	return cl.gatewayResponse(dataplane.ErrInternal) // Admit checked runsOnLoop: not reached
}

// gatewayResponse sends a gateway response, as the stage's deployment customised it if it did.
func (cl *client) gatewayResponse(gerr *dataplane.GatewayError) gnet.Action {
	call := &cl.call
	cl.done.Err = gerr
	status, body := gerr.Status, b2s(gerr.Body)
	ctype := "application/json"
	if call.Stage != nil && call.Stage.Responses != nil {
		if cr, ok := call.CustomResponse(gerr, in{cl}, call.RequestID, headers{cl}); ok {
			status, body, ctype = cr.Status, cr.Body, cr.ContentType
		}
	}
	cl.set("Content-Type", ctype)
	cl.set("X-Amzn-Errortype", gerr.Type)
	return cl.respond(status, body)
}

// respond sends a whole response (status, the headers set, body) and finishes the request. The
// request is reported first, as on the other engines: a client that has its answer finds it in
// the statistics and the access log.
func (cl *client) respond(status int, body string) gnet.Action {
	closeAfter := cl.req.Close || cl.s.draining.Load()
	head := string(cl.req.Method) == http.MethodHead
	cl.done.Status, cl.done.Length = status, int64(len(body))
	cl.finished()
	cl.writeResponse(status, body, closeAfter, head)
	if closeAfter {
		cl.gone = true
		return gnet.Close
	}
	return gnet.None
}

// writeResponse writes a response with a body of known length.
func (cl *client) writeResponse(status int, body string, closeAfter, head bool) {
	b := appendStatusLine(cl.out[:0], status, "")
	b = cl.appendHeaders(b)
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n"...)
	b = cl.appendConnection(b, closeAfter)
	b = append(b, "\r\n"...)
	if !head {
		b = append(b, body...)
	}
	cl.out = b
	_, _ = cl.c.Write(b)
}

// appendConnection appends the Connection field the response needs: close when the connection
// ends after it, keep-alive for an HTTP/1.0 client that asked to keep it (1.0 closes by default).
func (cl *client) appendConnection(b []byte, closeAfter bool) []byte {
	switch {
	case closeAfter:
		return append(b, "Connection: close\r\n"...)
	case cl.req.Minor == 0:
		return append(b, "Connection: keep-alive\r\n"...)
	}
	return b
}

// appendHeaders appends the Date and the headers set for the response.
func (cl *client) appendHeaders(b []byte) []byte {
	b = append(b, cl.l.dateLine()...)
	for _, h := range cl.hdrs {
		b = append(b, h.name...)
		b = append(b, ": "...)
		b = append(b, h.value...)
		b = append(b, "\r\n"...)
	}
	return b
}

// finished reports the answered request to the Core (statistics, access log) and frees the
// connection for its next request.
func (cl *client) finished() {
	d := &cl.done
	d.RequestID = cl.call.RequestID
	if cl.s.e.core.AccessLogging() {
		path, _ := originPath(cl.req.Target)
		d.Host, d.Path, d.Method = b2s(cl.req.Host), b2s(path), b2s(cl.req.Method)
		d.UserAgent, d.Protocol, d.SourceIP = in{cl}.Header("User-Agent"), protocol(cl.req.Minor), cl.peer
	}
	cl.s.e.core.Finish(&cl.call, d)
	cl.busy = false
	cl.ex = nil
	cl.idleSince = cl.l.now
	cl.l.busy.Add(-1)
	cl.trim()
}

// keepBuffer is the most a connection keeps of each buffer between requests: a large request
// or answer once must not cost its size for the connection's life, times every connection.
const keepBuffer = 16 << 10

// trim lets go of buffers a large request or answer grew.
func (cl *client) trim() {
	if cap(cl.raw) > keepBuffer {
		cl.raw = nil
	}
	if cap(cl.out) > keepBuffer {
		cl.out = nil
	}
	if cap(cl.arena) > 2*keepBuffer {
		cl.arena = nil
	}
	if cap(cl.exch.req) > keepBuffer {
		cl.exch.req = nil
	}
}

func protocol(minor int) string {
	if minor == 0 {
		return "HTTP/1.0"
	}
	return "HTTP/1.1"
}

// closed ends the client's part: an exchange in flight is abandoned (its upstream connection
// closed, as its response can no longer be delivered).
func (cl *client) closed(error) {
	delete(cl.l.clients, cl)
	wasGone := cl.gone
	cl.gone = true
	if wasGone || !cl.busy || cl.waiting {
		return // handed over, finished, or finished by resume
	}
	if ex := cl.ex; ex != nil {
		ex.abandon()
	}
	cl.finished() // Status stays 0 if no answer had started: counted, but as no 4xx or 5xx
}

// set sets a response header, replacing an earlier value.
func (cl *client) set(name, value string) {
	for i := range cl.hdrs {
		if cl.hdrs[i].name == name {
			cl.hdrs[i].value = value
			return
		}
	}
	cl.hdrs = append(cl.hdrs, kv{name, value})
}

// headers adapts the response being built to dataplane.HeaderSink.
type headers struct{ cl *client }

func (h headers) SetHeader(name, value string) { h.cl.set(name, value) }

// in adapts the request to dataplane.Inbound. Its strings alias cl.raw, which lives until the
// next request.
type in struct{ cl *client }

func (r in) Method() string { return b2s(r.cl.req.Method) }

// Header returns the first value of a header (name canonical; fields compared ignoring case).
func (r in) Header(name string) string {
	for _, h := range r.cl.req.Headers {
		if equalFold(h.Name, name) {
			return b2s(h.Value)
		}
	}
	return ""
}

func (r in) RawQuery() string {
	t := r.cl.req.Target
	for i, c := range t {
		if c == '?' {
			return b2s(t[i+1:])
		}
	}
	return ""
}

func (r in) Headers() [][2]string {
	out := make([][2]string, 0, len(r.cl.req.Headers))
	for _, h := range r.cl.req.Headers {
		out = append(out, [2]string{http.CanonicalHeaderKey(string(h.Name)), string(h.Value)})
	}
	return out
}

func (r in) Peer() (string, string, string) {
	var ip string
	if r.cl.peer.IsValid() {
		ip = r.cl.peer.String()
	}
	return ip, string(r.cl.req.Host), protocol(r.cl.req.Minor)
}

// Signed is never called on a loop: AWS_IAM methods are handed over before they are checked
// (dataplane's runsOnLoop).
func (r in) Signed() (*http.Request, []byte, *dataplane.GatewayError) {
	return nil, nil, dataplane.ErrInternal
}

// equalFold compares an ASCII header name with a canonical one, ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c, d := b[i], s[i]
		if c|0x20 != d|0x20 || (c|0x20 < 'a' || c|0x20 > 'z') && c != d {
			return false
		}
	}
	return true
}

// appendCanonical appends name in canonical form (X-Api-Key), as net/http and fasthttp name
// headers and the Core's rules expect.
func appendCanonical(dst, name []byte) []byte {
	upper := true
	for _, c := range name {
		switch {
		case upper && 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case !upper && 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		dst = append(dst, c)
		upper = c == '-'
	}
	return dst
}

// appendStatusLine appends "HTTP/1.1 status reason\r\n" (the standard reason when none given).
func appendStatusLine(b []byte, status int, reason string) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	if reason == "" {
		reason = http.StatusText(status)
	}
	b = append(b, reason...)
	return append(b, "\r\n"...)
}

// b2s views bytes as a string without copying; the bytes must not change while it is used.
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
