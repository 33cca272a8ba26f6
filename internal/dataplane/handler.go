package dataplane

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"time"
)

// Handler is the net/http serving engine: it adapts net/http requests to the Core and writes its
// answers. It embeds the Core, so Swap and Snapshot are its own.
type Handler struct {
	*Core
	proxy *proxy
}

// NewHandler returns a net/http data-plane handler on a Core of its own; Swap must be called
// before it serves.
func NewHandler(o Options) *Handler { return NewNetHTTP(NewCore(o), o.Transport) }

// NewNetHTTP returns the net/http engine over a Core (rt nil: a tuned shared transport).
func NewNetHTTP(c *Core, rt http.RoundTripper) *Handler {
	if rt == nil {
		rt = NewTransport()
	}
	return &Handler{Core: c, proxy: &proxy{rt: rt}}
}

// netIn adapts a net/http request to Inbound.
type netIn struct{ r *http.Request }

func (n netIn) Method() string            { return n.r.Method }
func (n netIn) Header(name string) string { return headerGet(n.r.Header, name) }
func (n netIn) RawQuery() string          { return n.r.URL.RawQuery }

// Headers lists the request's headers with Host first (net/http keeps it apart).
func (n netIn) Headers() [][2]string {
	out := make([][2]string, 0, len(n.r.Header)+1)
	out = append(out, [2]string{"Host", n.r.Host})
	for k, vs := range n.r.Header {
		for _, v := range vs {
			out = append(out, [2]string{k, v})
		}
	}
	return out
}

// Peer is the client address (IPv4-mapped addresses unmapped), Host and protocol.
func (n netIn) Peer() (string, string, string) {
	var ip string
	if ap, err := netip.ParseAddrPort(n.r.RemoteAddr); err == nil {
		ip = ap.Addr().Unmap().String()
	}
	return ip, n.r.Host, n.r.Proto
}

// Signed reads the body whole (up to the payload limit) and puts it back for the integration.
func (n netIn) Signed() (*http.Request, []byte, *GatewayError) {
	r := n.r
	if r.ContentLength > MaxPayload {
		return nil, nil, ErrTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
	if err != nil {
		return nil, nil, ErrBadRequest
	}
	if len(b) > MaxPayload {
		return nil, nil, ErrTooLarge
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	return r, b, nil
}

// headerSink adapts an http.Header to HeaderSink and HeaderSource.
type headerSink struct{ h http.Header }

func (s headerSink) SetHeader(name, value string) { s.h[name] = []string{value} }
func (s headerSink) Header(name string) string    { return headerGet(s.h, name) }

// headerGet is http.Header.Get for a name already in canonical form.
func headerGet(h http.Header, name string) string {
	if vs := h[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// ServeHTTP implements http.Handler: it answers the invocation, then reports it to the Core
// (statistics, access log).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var call Call
	rec := recorder{ResponseWriter: w, call: &call, in: netIn{r}}
	d := Done{Start: time.Now()}
	h.serve(&rec, w, r, &call)
	d.Status, d.Length, d.Err = rec.status, rec.n, rec.err
	if d.Status == 0 {
		d.Status = http.StatusOK
	}
	d.RequestID = headerGet(w.Header(), RequestIDHeader)
	if h.AccessLogging() {
		d.Host, d.Path, d.Method = r.Host, r.URL.EscapedPath(), r.Method
		d.UserAgent, d.Protocol = r.UserAgent(), r.Proto
		if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
			d.SourceIP = ap.Addr()
		}
	}
	h.Finish(&call, &d)
}

func (h *Handler) serve(w http.ResponseWriter, raw http.ResponseWriter, r *http.Request, call *Call) {
	hdr := w.Header()
	if headerGet(hdr, RequestIDHeader) == "" {
		hdr[RequestIDHeader] = []string{string(AppendRequestID(nil))}
	}
	hdr[ApigwIDHeader] = []string{string(AppendApigwID(nil))}
	in := netIn{r}
	call.RequestID = headerGet(hdr, RequestIDHeader)
	gerr := h.Admit(r.Context(), in, r.Host, r.URL.EscapedPath(), r.ContentLength, call)
	h.LimitHeaders(call, gerr, headerSink{hdr})
	if gerr != nil {
		gerr.write(w)
		return
	}
	if r.ContentLength < 0 || r.ContentLength > 0 {
		// The server's own writer, which closes the connection after a body over the limit.
		r.Body = http.MaxBytesReader(raw, r.Body, MaxPayload)
	}
	switch call.Kind {
	case KindMock:
		reply, gerr := call.Mock(in)
		if gerr != nil {
			gerr.write(w)
			return
		}
		writeReply(w, r, reply, nil, "")
	case KindHTTPProxy:
		h.proxy.serveProxy(w, r, call)
	case KindHTTP:
		h.proxy.serveHTTP(w, r, call)
	case KindLambdaProxy:
		serveLambda(w, r, in, call)
	case KindLambda:
		body, err := io.ReadAll(r.Body)
		if err != nil {
			ErrTooLarge.write(w)
			return
		}
		reply, out, gerr := call.InvokeLambdaAWS(r.Context(), in, body)
		if gerr != nil {
			gerr.write(w)
			call.BackendFailed(headerGet(w.Header(), RequestIDHeader), gerr, errors.New("lambda invocation failed"))
			return
		}
		writeReply(w, r, reply, nil, out)
	}
}

// serveLambda runs an AWS_PROXY Lambda integration on net/http.
func serveLambda(w http.ResponseWriter, r *http.Request, in netIn, call *Call) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		ErrTooLarge.write(w)
		return
	}
	lr := LambdaRequest{Body: body, Headers: in.Headers(), RequestID: headerGet(w.Header(), RequestIDHeader), Start: call.Now}
	lr.SourceIP, lr.Host, lr.Protocol = in.Peer()
	reply, gerr := call.InvokeLambda(r.Context(), in, &lr)
	if gerr != nil {
		gerr.write(w)
		call.BackendFailed(headerGet(w.Header(), RequestIDHeader), gerr, errors.New("lambda invocation failed"))
		return
	}
	hdr := w.Header()
	for _, h := range reply.Headers {
		name := h[0]
		drop, remap := ResponseHeaderRule(name)
		if drop {
			continue
		}
		if remap != "" {
			name = remap
		}
		hdr.Add(name, h[1])
	}
	hdr.Set("Content-Length", strconv.Itoa(len(reply.Body)))
	if _, ok := hdr["Content-Type"]; !ok {
		hdr.Set("Content-Type", "application/json")
	}
	w.WriteHeader(reply.Status)
	_, _ = w.Write(reply.Body)
}

// recorder keeps what Finish reports of a net/http answer: the status, the body bytes and the
// gateway response sent (GatewayError.write tells it).
type recorder struct {
	http.ResponseWriter
	status int
	n      int64
	err    *GatewayError
	// call and in let a gateway response be rendered as the stage customised it.
	call *Call
	in   Inbound
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.n += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the server's writer (flushes, deadlines).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// writeReply writes the method response of a non-proxy integration.
func writeReply(w http.ResponseWriter, r *http.Request, reply Reply, backend http.Header, backendBody string) {
	var src HeaderSource
	if backend != nil {
		src = headerSink{backend}
	}
	body := reply.Render(headerGet(r.Header, "Accept"), src, backendBody, headerSink{w.Header()})
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(reply.Status())
	_, _ = w.Write([]byte(body))
}
