// Package fastengine serves the data plane on valyala/fasthttp: a server whose request and
// response objects are pooled per connection, and one pooled HostClient per backend host. It is
// a second serving engine beside dataplane's net/http one, chosen by measurement (the
// `engine` option): both ask the same dataplane.Core every question a client could observe —
// resolution, enforcement, upstream URL, header rules, MOCK and integration responses — so they
// differ only in how bytes move.
//
// HTTP correctness kept here: keep-alive on both sides, request bodies streamed to the backend
// (StreamRequestBody; a 10 MB payload limit enforced without reading bodies whole), response
// bodies streamed back (StreamBody), hop-by-hop headers removed, X-Forwarded-* added, the
// backend's Host, the integration timeout → 504, any other backend failure → 502.
package fastengine

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/tollgate/tollgate/internal/dataplane"
	"github.com/tollgate/tollgate/internal/obs"
)

// Engine serves the data plane of a Core over fasthttp.
type Engine struct {
	core *dataplane.Core
	// clients maps a backend (scheme, host:port) to its connection pool. It is copied on
	// write, so the request path reads it with one atomic load and no lock.
	clients   atomic.Pointer[map[hostKey]*fasthttp.HostClient]
	mu        sync.Mutex
	log       *slog.Logger
	connLog   *obs.ConnLog
	tlsConfig *tls.Config
}

type hostKey struct{ scheme, addr string }

// Options configure an Engine.
type Options struct {
	Log *slog.Logger // nil: slog.Default()
	// ConnLog logs malformed requests and connection errors without their text (nil: one on Log,
	// 10 lines a second).
	ConnLog *obs.ConnLog
	// TLSConfig is for https backends (nil: the system's roots, certificates verified).
	TLSConfig *tls.Config
}

// New returns a fasthttp engine over core.
func New(core *dataplane.Core, o Options) *Engine {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.ConnLog == nil {
		o.ConnLog = obs.NewConnLog(o.Log, 10, 20)
	}
	return &Engine{core: core, log: o.Log, connLog: o.ConnLog, tlsConfig: o.TLSConfig}
}

// Server is a fasthttp server with net/http's Shutdown signature, so the command can stop
// either engine the same way.
type Server struct{ *fasthttp.Server }

// Shutdown stops accepting, lets in-flight requests finish and closes idle connections.
func (s Server) Shutdown(ctx context.Context) error { return s.ShutdownWithContext(ctx) }

// Limits of the server, the same as the net/http listener's.
const (
	// headerLimit bounds a request's line and headers (API Gateway's own limit is 10 KB).
	headerLimit   = 16 << 10
	headerTimeout = 10 * time.Second
	bodyTimeout   = 5 * time.Minute // large imports and uploads
	writeTimeout  = 5 * time.Minute
	idleTimeout   = 2 * time.Minute
)

// NewServer returns the server of a listener: invocations on the data plane, every other request
// handed to mgmt, a net/http handler (nil: a data-plane-only listener, where everything is an
// invocation). Request bodies are streamed: a handler runs once the headers and at most 8 KB of
// body are in, whatever the body's size.
func (e *Engine) NewServer(mgmt http.Handler) Server {
	return Server{&fasthttp.Server{
		Handler:                      e.Route(mgmt),
		ExpectHandler:                func(ctx *fasthttp.RequestCtx) int { return e.expect(ctx, mgmt != nil) },
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		ReadBufferSize:               headerLimit,
		ReadTimeout:                  headerTimeout,
		WriteTimeout:                 writeTimeout,
		IdleTimeout:                  idleTimeout,
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		CloseOnShutdown:              true,
		Logger:                       logger{e.connLog},
		ErrorHandler:                 e.badRequest,
		// A request with a body gets the long timeout for it once its headers are in, so a slow
		// client cannot hold a connection with a trickle of header bytes.
		HeaderReceived: func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
			if cl := h.ContentLength(); cl > 0 || cl == -1 {
				return fasthttp.RequestConfig{ReadTimeout: bodyTimeout}
			}
			return fasthttp.RequestConfig{}
		},
	}}
}

// expect answers "Expect: 100-continue". An invocation whose declared body is over the payload
// limit is answered at once (413, or the 404/403 that precedes it) without inviting the body, as
// net/http does when the handler never reads it; anything else is invited to send its body.
func (e *Engine) expect(ctx *fasthttp.RequestCtx, mgmt bool) int {
	if ctx.Request.Header.ContentLength() <= dataplane.MaxPayload ||
		mgmt && !dataplane.IsDataPlane(b2s(ctx.Host()), b2s(ctx.Request.URI().PathOriginal())) {
		return fasthttp.StatusContinue
	}
	e.Serve(ctx) // rejects before anything reads the body
	return ctx.Response.StatusCode()
}

// badRequest answers a request fasthttp could not parse — 400 (431 for headers over the limit,
// 408 for a timeout) with a fixed body and a request id — and logs it without its text: a parse
// error quotes the request, x-api-key and Authorization included.
func (e *Engine) badRequest(ctx *fasthttp.RequestCtx, err error) {
	class := obs.Classify(err)
	status := fasthttp.StatusBadRequest
	switch class {
	case obs.ClassLargeHeaders:
		status = fasthttp.StatusRequestHeaderFieldsTooLarge
	case obs.ClassTimeout:
		status = fasthttp.StatusRequestTimeout
	}
	var id [36]byte
	rid := dataplane.AppendRequestID(id[:0])
	ctx.Response.Header.SetCanonical(hdrRequestID, rid)
	ctx.Response.Header.SetContentTypeBytes(jsonType)
	ctx.SetStatusCode(status)
	ctx.Response.SetBodyString(`{"message":"Bad Request"}`)
	e.connLog.Log(class, ctx.RemoteAddr(), string(rid))
}

// logger takes fasthttp's own log lines. The one about connection errors quotes the error, and a
// parse error quotes the request: it goes to the ConnLog as a class and a remote address, and is
// skipped for parse errors, which badRequest has logged with their request id. Other lines are
// logged by their format alone, without arguments.
type logger struct{ c *obs.ConnLog }

func (l logger) Printf(format string, args ...any) {
	var remote net.Addr
	var err error
	for _, a := range args {
		switch v := a.(type) {
		case net.Addr:
			remote = v
		case error:
			err = v
		}
	}
	if err == nil {
		l.c.Log(format, remote, "")
		return
	}
	if class := obs.Classify(err); class != obs.ClassBadHeaders && class != obs.ClassLargeHeaders {
		l.c.Log(class, remote, "")
	}
}

// Route serves invocations (execute-api hosts and the LocalStack path forms) on the data plane
// and hands every other request to mgmt, a net/http handler (nil: everything is an invocation).
func (e *Engine) Route(mgmt http.Handler) fasthttp.RequestHandler {
	if mgmt == nil {
		return e.Serve
	}
	return func(ctx *fasthttp.RequestCtx) {
		if dataplane.IsDataPlane(b2s(ctx.Host()), b2s(ctx.Request.URI().PathOriginal())) {
			e.Serve(ctx)
			return
		}
		ServeNetHTTP(ctx, mgmt)
	}
}

var (
	hdrRequestID = []byte(dataplane.RequestIDHeader)
	hdrApigwID   = []byte(dataplane.ApigwIDHeader)
	hdrErrorType = []byte("X-Amzn-Errortype")
	jsonType     = []byte("application/json")
)

// background bounds quota-lease refills instead of the RequestCtx, whose Done fires when the
// server starts shutting down: requests in flight then should finish, as they do on net/http.
var background = context.Background()

// Serve handles one invocation, then reports it to the Core (statistics, access log).
func (e *Engine) Serve(ctx *fasthttp.RequestCtx) {
	var call dataplane.Call
	d := dataplane.Done{Start: time.Now()}
	d.Err = e.serve(ctx, &call)
	resp := &ctx.Response
	if d.Err != nil && call.Stage != nil && call.Stage.Responses != nil {
		// The stage's deployment customised gateway responses: re-render this one.
		if cr, ok := call.CustomResponse(d.Err, fastIn{ctx}, string(resp.Header.Peek(dataplane.RequestIDHeader)), respHeaders{&resp.Header}); ok {
			resp.SetStatusCode(cr.Status)
			resp.Header.SetContentType(cr.ContentType)
			resp.SetBodyString(cr.Body)
		}
	}
	d.Status = resp.StatusCode()
	if resp.IsBodyStream() { // Body() would drain the stream: only its declared length is known
		if d.Length = int64(resp.Header.ContentLength()); d.Length < 0 {
			d.Length = -1 // chunked: not known until it has been relayed
		}
	} else {
		d.Length = int64(len(resp.Body()))
	}
	d.RequestID = b2s(resp.Header.Peek(dataplane.RequestIDHeader))
	if e.core.AccessLogging() {
		d.Host, d.Path, d.Method = b2s(ctx.Host()), b2s(ctx.Request.URI().PathOriginal()), b2s(ctx.Method())
		d.UserAgent, d.Protocol = b2s(ctx.Request.Header.UserAgent()), b2s(ctx.Request.Header.Protocol())
		d.SourceIP, _ = clientAddr(ctx)
	}
	e.core.Finish(&call, &d)
}

// serve answers an invocation and returns the gateway response it sent, if any.
func (e *Engine) serve(ctx *fasthttp.RequestCtx, call *dataplane.Call) *dataplane.GatewayError {
	h := &ctx.Response.Header
	var id [36]byte
	h.SetCanonical(hdrRequestID, dataplane.AppendRequestID(id[:0]))
	h.SetCanonical(hdrApigwID, dataplane.AppendApigwID(id[:0]))
	in := fastIn{ctx}
	call.RequestID = b2s(h.Peek(dataplane.RequestIDHeader))
	gerr := e.core.Admit(background, in, b2s(ctx.Host()), b2s(ctx.Request.URI().PathOriginal()), int64(ctx.Request.Header.ContentLength()), call)
	e.core.LimitHeaders(call, gerr, respHeaders{h})
	if gerr != nil {
		writeError(ctx, gerr)
		return gerr
	}
	switch call.Kind {
	case dataplane.KindMock:
		reply, gerr := call.Mock(in)
		if gerr != nil {
			writeError(ctx, gerr)
			return gerr
		}
		body := reply.Render(b2s(ctx.Request.Header.Peek("Accept")), nil, "", respHeaders{h})
		ctx.SetStatusCode(reply.Status())
		ctx.Response.SetBodyString(body)
	case dataplane.KindHTTPProxy:
		return e.serveProxy(ctx, call)
	case dataplane.KindHTTP:
		return e.serveHTTP(ctx, call)
	case dataplane.KindLambdaProxy:
		return e.serveLambda(ctx, call)
	case dataplane.KindLambda:
		body, gerr := readBody(ctx)
		if gerr != nil {
			return fail(ctx, gerr)
		}
		reply, out, gerr := call.InvokeLambdaAWS(background, in, body)
		if gerr != nil {
			call.BackendFailed(call.RequestID, gerr, errLambda)
			return fail(ctx, gerr)
		}
		rendered := reply.Render(b2s(ctx.Request.Header.Peek("Accept")), nil, out, respHeaders{h})
		ctx.SetStatusCode(reply.Status())
		ctx.Response.SetBodyString(rendered)
	}
	return nil
}

// readBody reads a request body whole (a streamed one up to the payload limit).
func readBody(ctx *fasthttp.RequestCtx) ([]byte, *dataplane.GatewayError) {
	if s := ctx.RequestBodyStream(); s != nil {
		b, err := io.ReadAll(io.LimitReader(s, dataplane.MaxPayload+1))
		if err != nil {
			return nil, dataplane.ErrBadRequest
		}
		if len(b) > dataplane.MaxPayload {
			return nil, dataplane.ErrTooLarge
		}
		return b, nil
	}
	return ctx.Request.Body(), nil
}

// serveLambda runs an AWS_PROXY Lambda integration: the body is read whole (the event carries
// it), the Invoke API is called through the Core, and the function's answer is sent.
func (e *Engine) serveLambda(ctx *fasthttp.RequestCtx, call *dataplane.Call) *dataplane.GatewayError {
	in := fastIn{ctx}
	body, gerr := readBody(ctx)
	if gerr != nil {
		return fail(ctx, gerr)
	}
	lr := dataplane.LambdaRequest{Body: body, Headers: in.Headers(), RequestID: string(ctx.Response.Header.Peek(dataplane.RequestIDHeader)), Start: call.Now}
	lr.SourceIP, lr.Host, lr.Protocol = in.Peer()
	reply, gerr := call.InvokeLambda(background, in, &lr)
	if gerr != nil {
		call.BackendFailed(lr.RequestID, gerr, errLambda)
		return fail(ctx, gerr)
	}
	for _, h := range reply.Headers {
		name := h[0]
		drop, remap := dataplane.ResponseHeaderRule(name)
		if drop {
			continue
		}
		if remap != "" {
			name = remap
		}
		ctx.Response.Header.Add(name, h[1])
	}
	if len(ctx.Response.Header.ContentType()) == 0 {
		ctx.Response.Header.SetContentTypeBytes(jsonType)
	}
	ctx.SetStatusCode(reply.Status)
	ctx.Response.SetBodyRaw(reply.Body)
	return nil
}

var errLambda = errors.New("lambda invocation failed")

// fail sends a gateway response and returns it.
func fail(ctx *fasthttp.RequestCtx, gerr *dataplane.GatewayError) *dataplane.GatewayError {
	writeError(ctx, gerr)
	return gerr
}

// writeError sends a gateway response: status, x-amzn-ErrorType and the exact body bytes.
func writeError(ctx *fasthttp.RequestCtx, gerr *dataplane.GatewayError) {
	h := &ctx.Response.Header
	h.SetContentTypeBytes(jsonType)
	h.SetCanonical(hdrErrorType, s2b(gerr.Type))
	ctx.SetStatusCode(gerr.Status)
	ctx.Response.SetBodyRaw(gerr.Body)
	if gerr == dataplane.ErrTooLarge {
		// The body stays unread; the connection cannot carry another request.
		ctx.SetConnectionClose()
	}
}

// fastIn adapts a fasthttp request to dataplane.Inbound. Its strings alias fasthttp's buffers,
// valid while the request runs; the Core copies whatever it keeps.
type fastIn struct{ ctx *fasthttp.RequestCtx }

func (f fastIn) Method() string            { return b2s(f.ctx.Method()) }
func (f fastIn) Header(name string) string { return b2s(f.ctx.Request.Header.Peek(name)) }
func (f fastIn) RawQuery() string          { return b2s(f.ctx.URI().QueryString()) }

// Headers copies the request's headers (canonical names), Host included.
func (f fastIn) Headers() [][2]string {
	var out [][2]string
	for k, v := range f.ctx.Request.Header.All() {
		out = append(out, [2]string{http.CanonicalHeaderKey(string(k)), string(v)})
	}
	return out
}

// Peer is the client address (IPv4-mapped addresses unmapped), Host and protocol, copied.
func (f fastIn) Peer() (string, string, string) {
	var ip string
	if a, ok := clientAddr(f.ctx); ok {
		ip = a.Unmap().String()
	}
	return ip, string(f.ctx.Host()), string(f.ctx.Request.Header.Protocol())
}

// Signed reads the streamed body whole (up to the payload limit), hands it back to the request as
// a stream of known length for the integration, and builds the net/http view a signature check
// reads: method, request-target as sent, Host and headers.
func (f fastIn) Signed() (*http.Request, []byte, *dataplane.GatewayError) {
	req := &f.ctx.Request
	if req.Header.ContentLength() > dataplane.MaxPayload {
		return nil, nil, dataplane.ErrTooLarge
	}
	var body []byte
	if s := f.ctx.RequestBodyStream(); s != nil {
		b, err := io.ReadAll(io.LimitReader(s, dataplane.MaxPayload+1))
		if err != nil {
			return nil, nil, dataplane.ErrBadRequest
		}
		if len(b) > dataplane.MaxPayload {
			return nil, nil, dataplane.ErrTooLarge
		}
		body = b
		req.SetBodyStream(bytes.NewReader(b), len(b))
	} else {
		body = append([]byte(nil), req.Body()...)
	}
	uri := string(req.RequestURI())
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return nil, nil, dataplane.ErrBadRequest
	}
	r := &http.Request{Method: string(f.ctx.Method()), URL: u, RequestURI: uri, Host: string(f.ctx.Host()),
		Header: make(http.Header), ContentLength: int64(len(body)), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	for k, v := range req.Header.All() {
		name := http.CanonicalHeaderKey(string(k))
		r.Header[name] = append(r.Header[name], string(v))
	}
	return r, body, nil
}

// respHeaders adapts a response header to HeaderSink (and a backend's to HeaderSource).
type respHeaders struct{ h *fasthttp.ResponseHeader }

func (r respHeaders) SetHeader(name, value string) { r.h.Set(name, value) }
func (r respHeaders) Header(name string) string    { return b2s(r.h.Peek(name)) }

// reqHeaders adapts an upstream request header to HeaderSink; a mapping replaces every value of
// the header, and a mapped Host is the Host sent.
type reqHeaders struct{ h *fasthttp.RequestHeader }

func (r reqHeaders) SetHeader(name, value string) {
	if name == "Host" {
		r.h.SetHost(value)
		return
	}
	r.h.Del(name)
	r.h.Set(name, value)
}

// clientAddr is the client's IP address.
func clientAddr(ctx *fasthttp.RequestCtx) (netip.Addr, bool) {
	if a, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
		return netip.AddrFromSlice(a.IP)
	}
	ap, err := netip.ParseAddrPort(ctx.RemoteAddr().String())
	return ap.Addr(), err == nil
}

// b2s views bytes as a string without copying; the bytes must not change while it is used.
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// s2b views a string as bytes without copying; the bytes must not be written.
func s2b(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
