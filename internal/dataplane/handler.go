package dataplane

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
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

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	if headerGet(hdr, RequestIDHeader) == "" {
		hdr[RequestIDHeader] = []string{string(AppendRequestID(nil))}
	}
	hdr[ApigwIDHeader] = []string{string(AppendApigwID(nil))}
	in := netIn{r}
	var call Call
	gerr := h.Admit(r.Context(), in, r.Host, r.URL.EscapedPath(), r.ContentLength, &call)
	h.LimitHeaders(&call, gerr, headerSink{hdr})
	if gerr != nil {
		gerr.write(w)
		return
	}
	if r.ContentLength < 0 || r.ContentLength > 0 {
		r.Body = http.MaxBytesReader(w, r.Body, MaxPayload)
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
		h.proxy.serveProxy(w, r, &call)
	case KindHTTP:
		h.proxy.serveHTTP(w, r, &call)
	}
}

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
