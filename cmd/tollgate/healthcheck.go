package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// healthcheck is `tollgate healthcheck [--url URL]`: GET the status listener's /healthz and exit
// 0 on 200, 1 otherwise. A container built FROM scratch has no curl or wget, so the image's
// HEALTHCHECK runs the binary itself. The default URL follows TOLLGATE_STATUS_ADDR (an
// unspecified host, ":9180" or "0.0.0.0:9180", is reached on loopback).
func healthcheck(args []string, getenv func(string) string, stderr io.Writer) int {
	fs := flag.NewFlagSet("tollgate healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", "URL to GET (default http://<TOLLGATE_STATUS_ADDR>/healthz, or http://127.0.0.1:9180/healthz)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *url == "" {
		*url = "http://" + loopbackAddr(getenv("TOLLGATE_STATUS_ADDR")) + "/healthz"
	}
	c := &http.Client{Timeout: *timeout}
	resp, err := c.Get(*url)
	if err != nil {
		fmt.Fprintln(stderr, "tollgate healthcheck:", err)
		return 1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(stderr, "tollgate healthcheck:", *url, "answered", resp.Status)
		return 1
	}
	return 0
}

// loopbackAddr is where to reach a status listener bound to addr from the same host.
func loopbackAddr(addr string) string {
	if addr == "" {
		return "127.0.0.1:9180"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
