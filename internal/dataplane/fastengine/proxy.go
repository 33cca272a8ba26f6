package fastengine

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tollgate/tollgate/internal/dataplane"
)

// Backend connection pools, sized like the net/http engine's transport.
const (
	maxConnsPerHost = 1024
	dialTimeout     = 10 * time.Second
	maxIdleConn     = 90 * time.Second
	// smallBody: request bodies up to this size are already in memory (fasthttp reads that much
	// with the headers) and go out as bytes, which lets an idempotent request be retried on a
	// stale keep-alive connection; larger ones stream. Responses up to this size are copied
	// whole, which frees the backend connection before the client has read a byte.
	smallBody = 8 << 10
)

// client returns the connection pool of a backend.
func (e *Engine) client(scheme, addr string) *fasthttp.HostClient {
	k := hostKey{scheme, addr}
	if m := e.clients.Load(); m != nil {
		if hc := (*m)[k]; hc != nil {
			return hc
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	old := e.clients.Load()
	if old != nil {
		if hc := (*old)[k]; hc != nil {
			return hc
		}
	}
	hc := &fasthttp.HostClient{
		Addr:                     addr,
		IsTLS:                    scheme == "https",
		TLSConfig:                e.tlsConfig,
		NoDefaultUserAgentHeader: true,
		DisablePathNormalizing:   true, // the path goes out exactly as built
		DialDualStack:            true,
		MaxConns:                 maxConnsPerHost,
		MaxConnWaitTimeout:       dialTimeout,
		MaxIdleConnDuration:      maxIdleConn,
		// One retry, for an idempotent request without a streamed body that met a keep-alive
		// connection the backend had just closed.
		MaxIdemponentCallAttempts: 2,
		ReadBufferSize:            headerLimit,
		// Buffered (non-proxy HTTP) responses stop at the payload limit; proxied ones stream.
		MaxResponseBodySize: dataplane.MaxPayload,
		ConnPoolStrategy:    fasthttp.LIFO,
		DialTimeout: func(addr string, timeout time.Duration) (net.Conn, error) {
			return fasthttp.DialDualStackTimeout(addr, min(timeout, dialTimeout))
		},
	}
	m := make(map[hostKey]*fasthttp.HostClient, 1)
	if old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	m[k] = hc
	e.clients.Store(&m)
	return hc
}

// exchange is the pooled state of one upstream call.
type exchange struct {
	req   fasthttp.Request
	resp  fasthttp.Response
	url   []byte
	buf   []byte
	limit limitReader
	relay relay
	// done gives a streamed response's connection back (complete: its body was read to the end,
	// so the connection can carry another request); nil when nothing is streaming.
	done func(complete bool)
}

var exchanges = sync.Pool{New: func() any {
	x := &exchange{url: make([]byte, 0, 256), buf: make([]byte, 0, smallBody)}
	x.relay.x = x
	return x
}}

func acquireExchange() *exchange { return exchanges.Get().(*exchange) }

func (x *exchange) release() {
	_ = x.resp.CloseBodyStream()
	if x.done != nil {
		x.done(x.relay.eof)
		x.done = nil
	}
	x.relay.eof = false
	x.req.Reset()
	x.resp.Reset()
	x.limit = limitReader{}
	exchanges.Put(x)
}

// serveProxy runs an HTTP_PROXY integration (addendum §8.5).
func (e *Engine) serveProxy(ctx *fasthttp.RequestCtx, call *dataplane.Call) *dataplane.GatewayError {
	in := fastIn{ctx}
	x, up, gerr := startExchange(ctx, call)
	if gerr != nil {
		return gerr
	}
	req := &x.req
	hostPort := dataplane.ForwardedPort(b2s(ctx.Host()))
	conn := connectionValue(ctx.Request.Header.PeekAll("Connection"))
	for k, v := range ctx.Request.Header.All() {
		name := b2s(k)
		if !dataplane.ForwardRequestHeader(name) || conn != "" && dataplane.ConnectionListed(conn, name) {
			continue
		}
		switch name {
		case "X-Forwarded-For", "X-Forwarded-Proto", "X-Amzn-Apigateway-Api-Id":
			continue // replaced below
		case "X-Forwarded-Port":
			if hostPort != "" {
				continue
			}
		}
		req.Header.AddBytesKV(k, v)
	}
	req.Header.Set("X-Amzn-Apigateway-Api-Id", call.Stage.API.ID)
	if a, ok := clientAddr(ctx); ok {
		x.buf = dataplane.AppendForwardedFor(x.buf[:0], b2s(ctx.Request.Header.Peek("X-Forwarded-For")), a)
		req.Header.SetBytesV("X-Forwarded-For", x.buf)
	}
	if hostPort != "" {
		req.Header.Set("X-Forwarded-Port", hostPort)
	}
	if ctx.IsTLS() {
		req.Header.Set("X-Forwarded-Proto", "https")
	} else {
		req.Header.Set("X-Forwarded-Proto", "http")
	}
	if err := call.MapRequestHeaders(in, reqHeaders{&req.Header}); err != nil {
		x.release()
		return fail(ctx, dataplane.ErrInternal)
	}
	if !x.setBody(ctx) {
		x.release()
		return fail(ctx, dataplane.ErrBadGateway)
	}
	x.resp.Header.SetNoDefaultContentType(true)
	if gerr := e.do(ctx, up, call, x, true); gerr != nil {
		x.release()
		return fail(ctx, gerr)
	}
	x.respond(ctx)
	return nil
}

// startExchange takes a pooled exchange and addresses its request to the integration's backend
// with the upstream method. A gateway response: the upstream URL could not be built, and the
// client has been answered (500, or 400 for a mapped value that would climb out of the path).
func startExchange(ctx *fasthttp.RequestCtx, call *dataplane.Call) (*exchange, dataplane.Upstream, *dataplane.GatewayError) {
	in := fastIn{ctx}
	x := acquireExchange()
	up, err := call.Upstream(x.url, in)
	if err != nil {
		x.release()
		return nil, up, fail(ctx, dataplane.UpstreamError(err))
	}
	x.url = up.URL
	req := &x.req
	req.Header.SetNoDefaultContentType(true)
	req.Header.SetMethod(call.UpstreamMethod(in))
	setTarget(req, &up)
	return x, up, nil
}

// setTarget addresses the upstream request: the whole URL, so that the scheme is known to the
// pool (https), with the uri's authority as Host unless a mapping replaces it later.
func setTarget(req *fasthttp.Request, up *dataplane.Upstream) {
	req.SetRequestURIBytes(up.URL)
	req.UseHostHeader = true
	req.Header.SetHost(up.Host)
}

// setBody attaches the client's body: small bodies as bytes, others as the stream, limited to
// the payload limit when their length is unknown (chunked). false: the client's body could not
// be read.
func (x *exchange) setBody(ctx *fasthttp.RequestCtx) bool {
	cl := ctx.Request.Header.ContentLength()
	switch {
	case cl == 0 || cl == -2 || ctx.RequestBodyStream() == nil:
		return true // -2: no length and not chunked, which in a request means no body
	case cl > 0 && cl <= smallBody:
		x.buf = x.buf[:cap(x.buf)]
		if len(x.buf) < cl {
			x.buf = make([]byte, cl)
		}
		if _, err := io.ReadFull(ctx.RequestBodyStream(), x.buf[:cl]); err != nil {
			return false
		}
		x.req.SetBodyRaw(x.buf[:cl])
	case cl > 0:
		x.req.SetBodyStream(ctx.RequestBodyStream(), cl)
	default:
		x.limit = limitReader{r: ctx.RequestBodyStream(), left: dataplane.MaxPayload}
		x.req.SetBodyStream(&x.limit, -1)
	}
	return true
}

// do sends the request within the integration timeout and maps a failure to its gateway
// response: a body over the payload limit → 413, the timeout → 504, anything else (refused,
// reset, garbage) → 502. relay: the response is passed on (streamed when large), not rendered.
func (e *Engine) do(ctx *fasthttp.RequestCtx, up dataplane.Upstream, call *dataplane.Call, x *exchange, relay bool) *dataplane.GatewayError {
	start := time.Now()
	deadline := start.Add(call.Integration().Timeout)
	err := roundTrip(e.client(up.Scheme, up.DialTo), x, deadline, relay)
	call.Integrated, call.IntegrationLatency = true, time.Since(start)
	if err == nil {
		call.IntegrationStatus = x.resp.StatusCode()
	}
	var gerr *dataplane.GatewayError
	switch {
	case err == nil:
		return nil
	case x.limit.over:
		gerr = dataplane.ErrTooLarge
	case isTimeout(err) || !time.Now().Before(deadline):
		gerr = dataplane.ErrTimeout
	default:
		gerr = dataplane.ErrBadGateway
	}
	call.BackendFailed(string(ctx.Response.Header.Peek(dataplane.RequestIDHeader)), gerr, err) // a failure: the copy is no cost that matters
	return gerr
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.Is(err, fasthttp.ErrTimeout) || errors.As(err, &t) && t.Timeout()
}

// respond passes the backend's response on (addendum §8.5 item 7): status and headers less the
// hop-by-hop ones, Date, Server and x-amzn-RequestId re-emitted as x-amzn-Remapped-*, and the
// body, streamed unless it is small.
func (x *exchange) respond(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	ctx.SetStatusCode(x.resp.StatusCode())
	conn := connectionValue(x.resp.Header.PeekAll("Connection"))
	for k, v := range x.resp.Header.All() {
		drop, remap := dataplane.ResponseHeaderRule(b2s(k))
		switch {
		case drop, conn != "" && dataplane.ConnectionListed(conn, b2s(k)):
		case remap != "":
			h.AddBytesKV(s2b(remap), v)
		default:
			h.AddBytesKV(k, v)
		}
	}
	if x.resp.IsBodyStream() {
		// chunked (-1) and close-delimited (-2) bodies go on chunked.
		ctx.Response.SetBodyStream(&x.relay, max(x.resp.Header.ContentLength(), -1))
		return
	}
	if body := x.resp.Body(); len(body) > 0 {
		ctx.Response.SetBody(body)
	}
	// No body, or a HEAD answer: the backend's Content-Length stands.
	x.release()
}

// relay streams the backend's body to the client; fasthttp closes it when the response is
// written (or abandoned), which returns the backend connection to its pool — or closes it when
// the body was not read to its end — and recycles the exchange.
type relay struct {
	x   *exchange
	eof bool // the body was read to its end
}

func (r *relay) Read(p []byte) (int, error) {
	n, err := r.x.resp.BodyStream().Read(p)
	if err == io.EOF {
		r.eof = true
	}
	return n, err
}

// CloseWithError implements fasthttp.ReadCloserWithError.
func (r *relay) CloseWithError(error) error {
	r.x.release()
	return nil
}

// limitReader stops a body of unknown length at the payload limit.
type limitReader struct {
	r    io.Reader
	left int64
	over bool
}

var errTooLarge = errors.New("request body over the payload limit")

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var probe [1]byte
		if n, err := l.r.Read(probe[:]); n > 0 {
			l.over = true
			return 0, errTooLarge
		} else {
			return 0, err
		}
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// connectionValue joins a message's Connection headers into one list (the hop-by-hop names);
// the usual zero or one header costs no allocation.
func connectionValue(all [][]byte) string {
	switch len(all) {
	case 0:
		return ""
	case 1:
		return b2s(all[0])
	}
	return string(bytes.Join(all, []byte(",")))
}
