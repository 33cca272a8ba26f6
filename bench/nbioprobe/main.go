// Command nbioprobe is issue 12's second event-loop probe, on lesismal/nbio's nbhttp: its
// pollers read every ready socket after one epoll_wait and parse HTTP/1.1 on the loop, then run
// the handler on nbio's goroutine pool; the handler does the fastprobe's work (a map lookup of
// x-api-key, one atomic counter) and proxies to the backend with a fasthttp HostClient, as the
// fastprobe does. So the row isolates what nbio's reading and writing cost next to Go's
// netpoller, with the same upstream path. It is a probe, not a product.
package main

import (
	"log"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/lesismal/nbio/nbhttp"
	"github.com/valyala/fasthttp"

	"github.com/tollgate/tollgate/bench/internal/probe"
)

func main() {
	addr, backend, keys := probe.Setup("127.0.0.1:8084")
	hc := &fasthttp.HostClient{Addr: backend, MaxConns: 1024, MaxIdleConnDuration: 90 * time.Second}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(keys) > 0 {
			n := keys[r.Header.Get("X-Api-Key")]
			if n == nil {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			n.Add(1)
		}
		req := fasthttp.AcquireRequest()
		resp := fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.Header.SetMethod(r.Method)
		req.SetRequestURI(r.URL.RequestURI())
		req.SetHost(backend)
		for name, values := range r.Header {
			for _, v := range values {
				req.Header.Add(name, v)
			}
		}
		if r.ContentLength != 0 {
			req.SetBodyStream(r.Body, int(r.ContentLength))
		}
		if err := hc.DoTimeout(req, resp, 29*time.Second); err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		for k, v := range resp.Header.All() {
			w.Header().Add(string(k), string(v))
		}
		w.WriteHeader(resp.StatusCode())
		_, _ = w.Write(resp.Body())
	})
	engine := nbhttp.NewEngine(nbhttp.Config{
		Network: "tcp",
		Addrs:   []string{addr},
		NPoller: runtime.NumCPU(),
		Handler: handler,
	})
	if err := engine.Start(); err != nil {
		log.Fatal(err)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	engine.Stop()
}
