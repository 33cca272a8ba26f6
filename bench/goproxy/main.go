// Command goproxy is the benchmark's "bare Go proxy" reference: net/http's server in front of an
// httputil.ReverseProxy whose Transport is tuned for one loopback upstream (a large idle pool so
// 64 client connections never open upstream connections mid-run, no compression, no proxy
// lookup) and whose copy buffers are pooled (without a BufferPool, ReverseProxy allocates 32 KB
// per response). It makes no checks at all: it is the floor of what Go's standard proxy path
// costs, which issue 4 compares Tollgate against.
//
//	goproxy -addr 127.0.0.1:0 -upstream http://127.0.0.1:8081
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"sync"
	"time"
)

// bufferPool recycles ReverseProxy's response copy buffers.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	upstream := flag.String("upstream", "", "upstream base URL, e.g. http://127.0.0.1:8081")
	flag.Parse()
	target, err := url.Parse(*upstream)
	if err != nil || target.Host == "" {
		log.Fatalf("-upstream %q: want an absolute http URL", *upstream)
	}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       5 * time.Minute,
		DisableCompression:    true,
		ResponseHeaderTimeout: 30 * time.Second,
		ForceAttemptHTTP2:     false,
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport:  transport,
		BufferPool: &bufferPool{},
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute}
	fmt.Fprintln(os.Stdout, "listening", ln.Addr().String())
	log.Fatal(srv.Serve(ln))
}
