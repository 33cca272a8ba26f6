// Package connguard refuses, at the connection, request heads that HTTP parsers disagree on:
// a line ended by a bare LF (no CR). RFC 9112 §2.2 lets a recipient accept one, and parsers
// differ: net/http accepts it, fasthttp accepts one inside a head but ends a head only at
// CRLFCRLF (a head ended by bare LFs held the connection until the header timeout), and a front
// proxy may split such bytes elsewhere than the gate does (request smuggling). Tollgate answers
// 400 at once instead, on both engines, before either parser sees the request. Two more kinds of
// head are refused the same way, because net/http serves them in a way that lets a request
// hide in another's body: obs-fold (a header line starting with whitespace, which net/http
// joins to the line before: "Transfer-Encoding:\r\n chunked"), and Content-Length together with
// Transfer-Encoding, where net/http frames by the coding and keeps the connection open for
// what a front proxy that framed by the length sent as body (RFC 9112 §6.1: reject it, or
// close the connection after it).
//
// The guard follows the request stream only as far as it must to know which bytes are heads: it
// scans each head line by line to its CRLFCRLF, notes Content-Length, and skips that many body
// bytes to the next head. It does not judge framing — the server's parser stays the authority
// and refuses what is malformed — so wherever the guard could lose track (Transfer-Encoding, a
// Content-Length it cannot read, repeated or conflicting ones) it stops guarding that connection
// rather than risk refusing a body byte. A guarded read costs a memchr over the head's bytes.
package connguard

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"sync"
)

// ErrBareLF is what the server's read gets once a head was refused (a bare LF, obs-fold, or
// Content-Length beside Transfer-Encoding); the 400 is already written.
var ErrBareLF = errors.New("connguard: bare LF in a request head")

// Response is the answer to a refused head: the fixed body every malformed request gets.
const Response = "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 25\r\nConnection: close\r\n\r\n{\"message\":\"Bad Request\"}"

// Listener guards every connection it accepts. OnRefuse, if set, is told of each refusal (to log
// the class and remote address; it never receives the request bytes).
type Listener struct {
	net.Listener
	OnRefuse func(remote net.Addr)
}

// Accept returns the next connection, guarded.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	g := &conn{Conn: c, onRefuse: l.OnRefuse}
	if t, ok := c.(*tls.Conn); ok {
		return &tlsConn{conn: g, tls: t}, nil
	}
	return g, nil
}

// Guard guards one plain connection from the start of its request stream: for a connection a
// server did not accept through a Listener (the event-loop engine hands its connections over).
func Guard(c net.Conn, onRefuse func(remote net.Addr)) net.Conn {
	return &conn{Conn: c, onRefuse: onRefuse}
}

// tlsConn is a guarded TLS connection that still answers as one: servers ask a connection for
// its handshake and state (fasthttp's IsTLS, X-Forwarded-Proto), which the guard would hide.
type tlsConn struct {
	*conn
	tls *tls.Conn
}

// Handshake runs the TLS handshake (servers call it to fail early on a bad client hello).
func (c *tlsConn) Handshake() error { return c.tls.Handshake() }

// ConnectionState is the TLS connection's state.
func (c *tlsConn) ConnectionState() tls.ConnectionState { return c.tls.ConnectionState() }

type conn struct {
	net.Conn
	onRefuse func(net.Addr)
	mu       sync.Mutex // net/http reads in the background while a handler writes
	refused  bool
	s        Scanner
}

// Read passes on what the server reads, unless a request head in it holds a bare LF: then the
// client gets the 400 and the server an error.
func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	if c.refused {
		c.mu.Unlock()
		return 0, ErrBareLF
	}
	if n > 0 && !c.s.Feed(p[:n]) {
		c.refused = true
		c.mu.Unlock()
		c.Conn.Write([]byte(Response)) // best effort: the client may be gone
		if c.onRefuse != nil {
			c.onRefuse(c.Conn.RemoteAddr())
		}
		return 0, ErrBareLF
	}
	c.mu.Unlock()
	return n, err
}

// Write passes the server's bytes on; after a refusal they are dropped (the client has its 400).
func (c *conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	refused := c.refused
	c.mu.Unlock()
	if refused {
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// keepLen is how much of a head line the scanner keeps: enough for a Content-Length line.
const keepLen = 48

// Scanner follows one connection's request stream (what the client sent, in order). The zero
// value expects a request head.
type Scanner struct {
	off      bool  // stopped guarding: framing it does not follow
	bodyLeft int64 // body bytes to skip before the next head
	inHead   bool  // a head's first line has begun
	prev     byte  // the last byte of the current line so far (0 at a line start)
	lineLen  int   // bytes of the current line so far, CR included
	line     [keepLen]byte
	cl       int64 // the head's Content-Length (0: none)
	clSeen   bool
	clLost   bool // a Content-Length the guard cannot follow (repeated, unreadable)
	te       bool
}

// Feed scans the next bytes of the stream and reports false at a bare LF in a head.
func (s *Scanner) Feed(b []byte) bool {
	for len(b) > 0 && !s.off {
		if s.bodyLeft > 0 {
			k := min(int64(len(b)), s.bodyLeft)
			s.bodyLeft -= k
			b = b[k:]
			continue
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			s.take(b)
			return true
		}
		s.take(b[:i])
		if s.prev != '\r' || !s.endLine() {
			return false
		}
		b = b[i+1:]
	}
	return true
}

// take adds bytes (no LF among them) to the current line.
func (s *Scanner) take(b []byte) {
	if len(b) == 0 {
		return
	}
	if s.lineLen < keepLen {
		copy(s.line[s.lineLen:], b)
	}
	s.lineLen += len(b)
	s.prev = b[len(b)-1]
}

// endLine handles a line ended by CRLF: a header line is noted, an empty one ends the head.
// It reports false for a head to refuse: obs-fold, or Content-Length with Transfer-Encoding.
func (s *Scanner) endLine() bool {
	n, truncated := s.lineLen-1, s.lineLen > keepLen // n: without the CR
	line := s.line[:min(n, keepLen)]
	s.lineLen, s.prev = 0, 0
	switch {
	case n == 0 && !s.inHead:
		// A blank line before a request line (RFC 9112 §2.2 lets a server skip it).
	case n == 0:
		s.inHead = false
		switch {
		case s.te && (s.clSeen || s.clLost):
			return false
		case s.te || s.clLost:
			s.off = true // chunked bodies, and lengths it cannot read, are not followed
		default:
			s.bodyLeft = s.cl
		}
		s.cl, s.clSeen, s.clLost, s.te = 0, false, false, false
	case !s.inHead:
		s.inHead = true // the request line
	case line[0] == ' ' || line[0] == '\t':
		return false // obs-fold
	case hasFold(line, "content-length:"):
		v := int64(-1)
		if !truncated {
			v = parseLength(line[len("content-length:"):])
		}
		if s.clSeen || v < 0 {
			s.clLost = true // repeated or unreadable: the parser decides, unless TE is there too
		}
		s.cl, s.clSeen = v, true
	case isCoding(line):
		s.te = true
	}
	return true
}

// isCoding reports whether a header line is Transfer-Encoding, with or without whitespace before
// its colon (a parser that tolerates the whitespace frames by it; one that does not, 400s).
func isCoding(line []byte) bool {
	const name = "transfer-encoding"
	if !hasFold(line, name) {
		return false
	}
	rest := bytes.TrimLeft(line[len(name):], " \t")
	return len(rest) > 0 && rest[0] == ':'
}

func hasFold(b []byte, prefix string) bool {
	if len(b) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// parseLength reads a Content-Length value (digits between optional blanks); -1 for anything
// else.
func parseLength(b []byte) int64 {
	b = bytes.Trim(b, " \t")
	if len(b) == 0 || len(b) > 18 {
		return -1
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	return n
}
