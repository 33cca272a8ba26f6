// Command backend is the benchmark's upstream: a keep-alive HTTP/1.1 server that answers every
// request with the same 100-byte JSON body. It does as little as net/http allows, so that what the
// benchmark measures in front of it is the proxy's cost, and it is the "backend alone" baseline.
//
//	backend -addr 127.0.0.1:0   (prints "listening <addr>" on stdout once it accepts connections)
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

// body is exactly 100 bytes, the payload size the project's published figures use.
var body = []byte(`{"ok":true,"service":"tollgate-bench-backend","message":"hello from the upstream","pad":"xxxxxxxx"}` + "\n")

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	flag.Parse()
	if len(body) != 100 {
		log.Fatalf("body is %d bytes, want 100", len(body))
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	length := strconv.Itoa(len(body))
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h["Content-Type"] = []string{"application/json"}
			h["Content-Length"] = []string{length}
			_, _ = w.Write(body)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       5 * time.Minute, // proxies keep their upstream connections across rounds
	}
	fmt.Fprintln(os.Stdout, "listening", ln.Addr().String())
	log.Fatal(srv.Serve(ln))
}
