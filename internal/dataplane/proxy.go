package dataplane

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// NewTransport returns the one shared, tuned transport to backends: keep-alive pools sized for a
// gateway, no transparent compression (bodies pass through untouched).
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy: nil,
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
	}
}

type proxy struct {
	rt http.RoundTripper
}

// outHeaders adapts an outgoing net/http request to HeaderSink: a mapped Host becomes the
// request's Host, which net/http sends instead of any Host header.
type outHeaders struct{ r *http.Request }

func (o outHeaders) SetHeader(name, value string) {
	if name == "Host" {
		o.r.Host = value
		return
	}
	o.r.Header[name] = []string{value}
}

// serveProxy runs an HTTP_PROXY integration (addendum §8.5): the substituted uri is the whole
// upstream URL, client query and headers pass through, the body streams both ways.
func (p *proxy) serveProxy(w http.ResponseWriter, r *http.Request, call *Call) {
	in := netIn{r}
	up, err := call.Upstream(nil, in)
	if err != nil {
		UpstreamError(err).write(w)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), call.Integration().Timeout)
	defer cancel()
	out, err := http.NewRequestWithContext(ctx, call.UpstreamMethod(in), string(up.URL), bodyOf(r))
	if err != nil {
		ErrInternal.write(w)
		return
	}
	out.ContentLength = r.ContentLength
	out.Header = make(http.Header, len(r.Header)+4)
	conn := strings.Join(r.Header["Connection"], ",")
	for k, vs := range r.Header {
		if ForwardRequestHeader(k) && (conn == "" || !ConnectionListed(conn, k)) {
			out.Header[k] = vs
		}
	}
	addForwarded(out.Header, r, call)
	if err := call.MapRequestHeaders(in, outHeaders{out}); err != nil {
		ErrInternal.write(w)
		return
	}
	start := time.Now()
	resp, err := p.rt.RoundTrip(out)
	call.Integrated, call.IntegrationLatency = true, time.Since(start)
	if err != nil {
		backendError(w, ctx, err, call)
		return
	}
	call.IntegrationStatus = resp.StatusCode
	defer resp.Body.Close()
	h := w.Header()
	respConn := strings.Join(resp.Header["Connection"], ",")
	for k, vs := range resp.Header {
		drop, remap := ResponseHeaderRule(k)
		switch {
		case drop, respConn != "" && ConnectionListed(respConn, k):
		case remap != "":
			h[remap] = vs
		default:
			h[k] = vs
		}
	}
	if resp.ContentLength >= 0 {
		h.Set("Content-Length", itoa(resp.ContentLength))
	}
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = nil // pass the backend's answer as is: no sniffed type
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// serveHTTP runs a non-proxy HTTP integration (addendum §8.6): only mapped parameters reach the
// backend, and the backend status selects the integration response.
func (p *proxy) serveHTTP(w http.ResponseWriter, r *http.Request, call *Call) {
	in := netIn{r}
	tmpl, useTemplate, gerr := call.RequestBody(in)
	if gerr != nil {
		gerr.write(w)
		return
	}
	up, err := call.Upstream(nil, in)
	if err != nil {
		UpstreamError(err).write(w)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), call.Integration().Timeout)
	defer cancel()
	var body io.Reader = bodyOf(r)
	length := r.ContentLength
	if useTemplate {
		body, length = strings.NewReader(tmpl), int64(len(tmpl))
	}
	out, err := http.NewRequestWithContext(ctx, call.UpstreamMethod(in), string(up.URL), body)
	if err != nil {
		ErrInternal.write(w)
		return
	}
	out.ContentLength = length
	out.Header.Set("Accept", "application/json")
	out.Header.Set("User-Agent", "AmazonAPIGateway_"+call.Stage.API.ID)
	out.Header.Set("X-Amzn-Apigateway-Api-Id", call.Stage.API.ID)
	if ct := headerGet(r.Header, "Content-Type"); ct != "" && length != 0 {
		out.Header.Set("Content-Type", ct)
	}
	if err := call.MapRequestHeaders(in, outHeaders{out}); err != nil {
		ErrInternal.write(w)
		return
	}
	start := time.Now()
	resp, err := p.rt.RoundTrip(out)
	if err != nil {
		call.Integrated, call.IntegrationLatency = true, time.Since(start)
		backendError(w, ctx, err, call)
		return
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxPayload+1))
	call.Integrated, call.IntegrationLatency, call.IntegrationStatus = true, time.Since(start), resp.StatusCode
	if err != nil {
		backendError(w, ctx, err, call)
		return
	}
	if len(b) > MaxPayload {
		ErrBadGateway.write(w)
		return
	}
	reply, gerr := call.SelectReply(resp.StatusCode)
	if gerr != nil {
		gerr.write(w)
		return
	}
	writeReply(w, r, reply, resp.Header, string(b))
}

func bodyOf(r *http.Request) io.Reader {
	if r.ContentLength == 0 {
		return nil
	}
	return r.Body
}

// backendError maps a failed round trip: the integration timeout → 504, a body over the payload
// limit → 413, anything else (refused, reset, garbage) → 502.
func backendError(w http.ResponseWriter, ctx context.Context, err error, call *Call) {
	var mbe *http.MaxBytesError
	gerr := ErrBadGateway
	switch {
	case errors.As(err, &mbe):
		gerr = ErrTooLarge
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		gerr = ErrTimeout
	}
	gerr.write(w)
	call.BackendFailed(w.Header().Get(RequestIDHeader), gerr, err)
}

// addForwarded adds the API id and the X-Forwarded-* headers (appending the client address).
func addForwarded(h http.Header, r *http.Request, call *Call) {
	h["X-Amzn-Apigateway-Api-Id"] = []string{call.Stage.API.ID}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		h["X-Forwarded-For"] = []string{string(AppendForwardedFor(nil, headerGet(r.Header, "X-Forwarded-For"), ap.Addr()))}
	}
	if port := ForwardedPort(r.Host); port != "" {
		h["X-Forwarded-Port"] = []string{port}
	}
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	h["X-Forwarded-Proto"] = []string{proto}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
