// Package tlsconf serves Tollgate's listeners over TLS with a certificate that can be replaced
// while they run: SIGHUP re-reads the files, new handshakes get the new certificate, and
// connections already open keep theirs, so a renewal (certbot, cert-manager) drops nothing.
//
// Defaults are crypto/tls's modern ones, with TLS 1.2 as the floor. ALPN offers HTTP/1.1 only:
// both serving engines and the bare-LF guard (internal/connguard) speak HTTP/1.1, so a client
// never negotiates an HTTP/2 the server would not honour.
package tlsconf

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// Certs is a certificate and key pair loaded from files, replaceable by Reload.
type Certs struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// Load reads the pair; an unreadable or mismatched pair is an error that names the files.
func Load(certFile, keyFile string) (*Certs, error) {
	c := &Certs{certFile: certFile, keyFile: keyFile}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads the files again. On error the previous certificate stays in use.
func (c *Certs) Reload() error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s / key %s: %w", c.certFile, c.keyFile, err)
	}
	if len(cert.Certificate) == 0 {
		return errors.New("TLS certificate " + c.certFile + ": no certificate")
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return fmt.Errorf("TLS certificate %s: %w", c.certFile, err)
		}
	}
	c.cur.Store(&cert)
	return nil
}

// ReloadFunc is Reload, or nil for a nil Certs (TLS off), for the SIGHUP list.
func (c *Certs) ReloadFunc() func() error {
	if c == nil {
		return nil
	}
	return c.Reload
}

// NotAfter is when the certificate in use expires.
func (c *Certs) NotAfter() time.Time { return c.cur.Load().Leaf.NotAfter }

// Config is the server configuration: the current certificate at every handshake.
func (c *Certs) Config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.cur.Load(), nil
		},
	}
}

// connStater is a connection that knows its TLS state (a *tls.Conn, or a guard around one).
type connStater interface {
	ConnectionState() tls.ConnectionState
}

type connKey struct{}

// ConnContext is a net/http Server.ConnContext that keeps the connection, so that WithTLSState
// can tell handlers about TLS when the server sees a wrapped connection rather than a *tls.Conn.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if cs, ok := c.(connStater); ok {
		return context.WithValue(ctx, connKey{}, cs)
	}
	return ctx
}

// WithTLSState sets r.TLS from the connection ConnContext kept: net/http only fills it in for a
// *tls.Conn, and Tollgate's TLS connections reach it inside the bare-LF guard.
func WithTLSState(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			if cs, ok := r.Context().Value(connKey{}).(connStater); ok {
				st := cs.ConnectionState()
				r.TLS = &st
			}
		}
		h.ServeHTTP(w, r)
	})
}
