package fastengine

import (
	"github.com/valyala/fasthttp"

	"github.com/tollgate/tollgate/internal/dataplane"
)

// serveHTTP runs a non-proxy HTTP integration (addendum §8.6): only mapped parameters reach the
// backend, and the backend's status selects the integration response. The backend body is read
// whole (it may feed a template), up to the payload limit: more is a 502.
func (e *Engine) serveHTTP(ctx *fasthttp.RequestCtx, call *dataplane.Call) *dataplane.GatewayError {
	in := fastIn{ctx}
	tmpl, useTemplate, gerr := call.RequestBody(in)
	if gerr != nil {
		return fail(ctx, gerr)
	}
	x, up, gerr := startExchange(ctx, call)
	if gerr != nil {
		return gerr
	}
	req := &x.req
	req.Header.Set("Accept", "application/json")
	id := call.Stage.API.ID
	x.buf = append(append(x.buf[:0], "AmazonAPIGateway_"...), id...)
	req.Header.SetUserAgentBytes(x.buf)
	req.Header.Set("X-Amzn-Apigateway-Api-Id", id)
	length := ctx.Request.Header.ContentLength()
	if useTemplate {
		length = len(tmpl)
	}
	if ct := ctx.Request.Header.ContentType(); len(ct) > 0 && length != 0 {
		req.Header.SetContentTypeBytes(ct)
	}
	if err := call.MapRequestHeaders(in, reqHeaders{&req.Header}); err != nil {
		x.release()
		return fail(ctx, dataplane.ErrInternal)
	}
	switch {
	case useTemplate:
		req.SetBodyRaw(s2b(tmpl)) // the template lives in the snapshot and is never written
	case !x.setBody(ctx):
		x.release()
		return fail(ctx, dataplane.ErrBadGateway)
	}
	x.resp.Header.SetNoDefaultContentType(true)
	if gerr := e.do(ctx, up, call, x, false); gerr != nil {
		x.release()
		return fail(ctx, gerr)
	}
	reply, gerr := call.SelectReply(x.resp.StatusCode())
	if gerr != nil {
		x.release()
		return fail(ctx, gerr)
	}
	body := reply.Render(b2s(ctx.Request.Header.Peek("Accept")), respHeaders{&x.resp.Header}, b2s(x.resp.Body()), respHeaders{&ctx.Response.Header})
	ctx.SetStatusCode(reply.Status())
	ctx.Response.SetBodyString(body)
	x.release()
	return nil
}
