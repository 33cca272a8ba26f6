// Command fastprobe is the floor of a Go proxy on valyala/fasthttp, measured beside Tollgate:
// a fasthttp server and one HostClient to the backend, with a key lookup (a map of the bench's
// keys) and one atomic counter per request — no routing, throttle, quota or header rules. It
// is the probe of issue 4, not a product: what Tollgate adds is the difference to this row.
package main

import (
	"log"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tollgate/tollgate/bench/internal/probe"
)

func main() {
	addr, backend, keys := probe.Setup("127.0.0.1:8082")
	hc := &fasthttp.HostClient{Addr: backend, MaxConns: 1024, MaxIdleConnDuration: 90 * time.Second}
	srv := &fasthttp.Server{
		NoDefaultServerHeader: true,
		Handler: func(ctx *fasthttp.RequestCtx) {
			if len(keys) > 0 {
				n := keys[string(ctx.Request.Header.Peek("X-Api-Key"))]
				if n == nil {
					ctx.SetStatusCode(fasthttp.StatusForbidden)
					return
				}
				n.Add(1)
			}
			req := &ctx.Request
			req.SetHost(backend)
			if err := hc.DoTimeout(req, &ctx.Response, 29*time.Second); err != nil {
				ctx.SetStatusCode(fasthttp.StatusBadGateway)
			}
		},
	}
	log.Fatal(srv.ListenAndServe(addr))
}
