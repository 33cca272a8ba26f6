package fastengine

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"
)

// ServeNetHTTP runs a net/http handler (the management API) for a fasthttp request, so one
// listener can serve both planes. Unlike fasthttpadaptor it streams the request body to the
// handler instead of reading it into memory first (the handler applies its own size limits),
// and it hands over the request exactly as received: RequestURI is the raw request-target,
// which SigV4 verification needs byte for byte. The response is buffered, which suits the
// management API's JSON documents.
func ServeNetHTTP(ctx *fasthttp.RequestCtx, h http.Handler) {
	r, err := netRequest(ctx)
	if err != nil {
		ctx.Error("Bad Request", fasthttp.StatusBadRequest)
		return
	}
	w := &responseWriter{ctx: ctx, header: make(http.Header, 8)}
	h.ServeHTTP(w, r)
	w.finish()
}

// netRequest builds the http.Request net/http's server would have built.
func netRequest(ctx *fasthttp.RequestCtx) (*http.Request, error) {
	rh := &ctx.Request.Header
	uri := string(rh.RequestURI())
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return nil, err
	}
	r := &http.Request{
		Method:     string(rh.Method()),
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header, 16),
		Host:       string(ctx.Host()),
		RemoteAddr: ctx.RemoteAddr().String(),
		RequestURI: uri,
	}
	if !rh.IsHTTP11() {
		r.Proto, r.ProtoMinor = "HTTP/1.0", 0
	}
	for k, v := range rh.All() {
		name := http.CanonicalHeaderKey(string(k))
		switch name {
		case "Host", "Transfer-Encoding":
			continue // net/http moves them to Host and TransferEncoding
		}
		r.Header[name] = append(r.Header[name], string(v))
	}
	switch cl := rh.ContentLength(); {
	case cl == 0 || cl == -2: // -2: neither length nor chunked, so no body
		r.Body = http.NoBody
	case cl > 0:
		r.ContentLength = int64(cl)
		r.Body = io.NopCloser(ctx.RequestBodyStream())
	default:
		r.ContentLength = -1
		r.TransferEncoding = []string{"chunked"}
		r.Header.Del("Content-Length")
		r.Body = io.NopCloser(ctx.RequestBodyStream())
	}
	// Not the RequestCtx as context: its Done fires when the server starts shutting down, and
	// net/http lets requests in flight finish.
	return r.WithContext(context.Background()), nil
}

// responseWriter is an http.ResponseWriter over a fasthttp response. Like net/http's, it takes
// the header map as it is at WriteHeader, and sniffs a missing Content-Type from the first bytes
// written.
type responseWriter struct {
	ctx       *fasthttp.RequestCtx
	header    http.Header
	committed http.Header // the header as of WriteHeader
	status    int
	sent      bool // status and headers are in the fasthttp response
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(status int) {
	if w.committed != nil {
		return
	}
	w.status, w.committed = status, w.header.Clone()
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.committed == nil {
		w.WriteHeader(http.StatusOK)
	}
	if !w.sent {
		if _, ok := w.committed["Content-Type"]; !ok && len(b) > 0 && bodyAllowed(w.status) {
			w.committed.Set("Content-Type", http.DetectContentType(b))
		}
		w.send()
	}
	w.ctx.Response.AppendBody(b)
	return len(b), nil
}

// finish sends the status and headers of a handler that wrote no body.
func (w *responseWriter) finish() {
	if w.committed == nil {
		w.WriteHeader(http.StatusOK)
	}
	if !w.sent {
		w.send()
	}
}

func (w *responseWriter) send() {
	w.sent = true
	w.ctx.SetStatusCode(w.status)
	rh := &w.ctx.Response.Header
	for k, vs := range w.committed {
		if strings.EqualFold(k, "Content-Length") {
			continue // fasthttp frames the body it sends
		}
		for _, v := range vs {
			rh.Add(k, v)
		}
	}
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}
