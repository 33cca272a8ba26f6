// Package h1 parses HTTP/1.1 request heads, backend response heads and chunked bodies from a
// connection's buffer, for a serving engine that reads sockets itself (an event loop) rather
// than through net/http or fasthttp. Parsing is incremental (a partial head asks for more
// bytes), allocates nothing (fields alias the buffer) and is strict where parsers disagree,
// because a gateway that frames a request differently from the proxy in front of it or the
// backend behind it can be made to smuggle one (RFC 9112 §11.2). So this parser refuses, rather
// than repairs:
//
//   - a line ended by a bare LF or a bare CR, and obs-fold (a header line starting with
//     whitespace): 400;
//   - whitespace between a header name and its colon, a name that is not a token, a value with
//     a control byte: 400;
//   - Content-Length that is not plain digits, or two that differ: 400;
//   - Transfer-Encoding together with Content-Length: 400; Transfer-Encoding in HTTP/1.0: 400;
//     any coding but a single "chunked": 501;
//   - an HTTP/1.1 request without exactly one Host, or with a Host that is not a host: 400;
//   - a head over MaxHead bytes or MaxHeaders fields: 431; a version other than HTTP/1.x: 505;
//   - an Expect other than 100-continue: 417.
//
// Empty lines before a request line are skipped (RFC 9112 §2.2), as net/http and nginx do. A
// chunked body is held to the same line rules, with its extensions right after the size; a
// backend's response whose framing is in doubt is refused too (see Response.Parse).
package h1

import (
	"bytes"
	"errors"
)

// Limits of a request head.
const (
	MaxHead    = 16 << 10 // bytes of request line and fields (API Gateway allows 10 KB of headers)
	MaxHeaders = 100      // header fields
)

// ErrIncomplete means the buffer does not hold a whole head yet: read more and parse again.
var ErrIncomplete = errors.New("h1: incomplete request head")

// Error is a request the parser refuses, with the status to answer it with. The connection
// cannot be used after it: where the request ends is unknown.
type Error struct {
	Status int
	Reason string // for tests and logs; never quotes the request
}

func (e *Error) Error() string { return "h1: " + e.Reason }

func fail(status int, reason string) *Error { return &Error{Status: status, Reason: reason} }

// The refusals, one value each so that callers and tests can compare them.
var (
	ErrBareLF           = fail(400, "line not ended by CRLF")
	ErrObsFold          = fail(400, "obs-fold header line")
	ErrRequestLine      = fail(400, "malformed request line")
	ErrMethod           = fail(400, "method is not a token")
	ErrTarget           = fail(400, "invalid request-target")
	ErrHeaderName       = fail(400, "header name is not a token")
	ErrSpaceBeforeColon = fail(400, "whitespace before a header colon")
	ErrHeaderValue      = fail(400, "control byte in a header value")
	ErrContentLength    = fail(400, "invalid Content-Length")
	ErrTwoLengths       = fail(400, "conflicting Content-Length fields")
	ErrLengthAndChunked = fail(400, "Content-Length together with Transfer-Encoding")
	ErrTE10             = fail(400, "Transfer-Encoding in an HTTP/1.0 request")
	ErrCoding           = fail(501, "transfer coding other than chunked")
	ErrNoHost           = fail(400, "HTTP/1.1 request without Host")
	ErrTwoHosts         = fail(400, "more than one Host field")
	ErrHost             = fail(400, "invalid Host")
	ErrHeadTooLarge     = fail(431, "request head too large")
	ErrTooManyHeaders   = fail(431, "too many header fields")
	ErrVersion          = fail(505, "HTTP version not supported")
	ErrExpectation      = fail(417, "unsupported expectation")
)

// Header is one field as sent; Name keeps the client's case and Value is trimmed of whitespace.
type Header struct{ Name, Value []byte }

// Request is a parsed request head. Its slices alias the buffer given to Parse and are valid
// until that buffer changes; a Request is reused from one Parse to the next.
type Request struct {
	Method, Target []byte
	Minor          int // HTTP/1.Minor: 0 or 1 (a later 1.x is served as 1.1)
	Headers        []Header
	Host           []byte
	// ContentLength is the declared body length: -1 for none, 0 for an empty one. A chunked
	// body has ContentLength -1 and Chunked true.
	ContentLength  int64
	Chunked        bool
	Close          bool // the connection closes after this exchange
	ExpectContinue bool // the client waits for "100 Continue" before sending its body
	HeadLen        int  // bytes of the buffer the head took, leading empty lines included
}

// Parse parses the request head at the start of buf into r. It returns ErrIncomplete while buf
// holds only part of a head (within MaxHead), or an *Error for a request to refuse.
func (r *Request) Parse(buf []byte) error {
	*r = Request{Headers: r.Headers[:0], ContentLength: -1}
	p := 0
	for { // empty lines before the request line
		if len(buf)-p >= 2 && buf[p] == '\r' && buf[p+1] == '\n' {
			p += 2
			continue
		}
		if len(buf)-p >= 1 && buf[p] == '\n' {
			return ErrBareLF
		}
		break
	}
	if p > MaxHead {
		return ErrHeadTooLarge
	}
	line, next, err := nextLine(buf, p)
	if err != nil {
		return err
	}
	if err := r.requestLine(line); err != nil {
		return err
	}
	var hosts int
	var f framing
	r.Headers, next, err = readFields(buf, next, r.Headers, &f, func(name, value []byte) error {
		switch {
		case equalFold(name, "host"):
			hosts++
			r.Host = value
		case equalFold(name, "expect"):
			if !equalFold(value, "100-continue") {
				return ErrExpectation
			}
			r.ExpectContinue = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.HeadLen = next
	// HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes it unless asked to
	// keep it (RFC 9112 §9.3).
	r.Close = f.close || r.Minor == 0 && !f.keepAlive
	r.ContentLength = f.length
	if r.Minor == 0 {
		r.ExpectContinue = false // HTTP/1.0 clients do not wait for 100 (RFC 9110 §10.1.1)
	}
	switch {
	case hosts > 1:
		return ErrTwoHosts
	case hosts == 0 && r.Minor >= 1:
		return ErrNoHost
	case hosts == 1 && !validHost(r.Host):
		return ErrHost
	}
	if f.chunked {
		if r.Minor == 0 {
			return ErrTE10
		}
		if f.length >= 0 {
			return ErrLengthAndChunked
		}
		r.Chunked = true
	}
	return nil
}

// requestLine parses "METHOD SP request-target SP HTTP/1.x".
func (r *Request) requestLine(line []byte) error {
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return ErrRequestLine
	}
	if !isToken(line[:sp1]) {
		return ErrMethod
	}
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 <= 0 {
		return ErrRequestLine
	}
	target, version := rest[:sp2], rest[sp2+1:]
	for _, c := range target {
		if c <= ' ' || c == 0x7f {
			return ErrTarget
		}
	}
	if target[0] != '/' && !(len(target) == 1 && target[0] == '*') && !bytes.Contains(target, []byte("://")) {
		return ErrTarget // origin-form, asterisk-form or absolute-form (no authority-form: no CONNECT)
	}
	if len(version) != 8 || string(version[:5]) != "HTTP/" || version[6] != '.' || !isDigit(version[5]) || !isDigit(version[7]) {
		return ErrRequestLine
	}
	if version[5] != '1' {
		return ErrVersion
	}
	r.Method, r.Target = line[:sp1], target
	r.Minor = min(int(version[7]-'0'), 1)
	return nil
}

// nextLine returns the line starting at p, without its CRLF, and where the next one starts.
func nextLine(buf []byte, p int) (line []byte, next int, err error) {
	i := bytes.IndexByte(buf[p:], '\n')
	if i < 0 {
		if len(buf) > MaxHead {
			return nil, 0, ErrHeadTooLarge
		}
		if cr := bytes.IndexByte(buf[p:], '\r'); cr >= 0 && cr < len(buf)-p-1 {
			return nil, 0, ErrBareLF // a CR followed by something other than LF
		}
		return nil, 0, ErrIncomplete
	}
	end := p + i
	if end+1 > MaxHead {
		return nil, 0, ErrHeadTooLarge
	}
	if i == 0 || buf[end-1] != '\r' {
		return nil, 0, ErrBareLF
	}
	line = buf[p : end-1]
	if bytes.IndexByte(line, '\r') >= 0 {
		return nil, 0, ErrBareLF // a bare CR inside the line
	}
	return line, end + 1, nil
}

// parseLength parses 1*DIGIT into an int64, refusing overflow.
func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 { // 18 digits cannot overflow an int64
		return 0, false
	}
	var n int64
	for _, c := range v {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// tokens yields the comma-separated elements of a field value, trimmed, empty ones skipped.
func tokens(v []byte) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for part := range bytes.SplitSeq(v, []byte(",")) {
			if t := trimOWS(part); len(t) > 0 && !yield(t) {
				return
			}
		}
	}
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// equalFold compares ASCII case-insensitively without allocating.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c, d := b[i], s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isToken reports whether b is a token (RFC 9110 §5.6.2): a field name, a method.
func isToken(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 || !tchar[c] {
			return false
		}
	}
	return len(b) > 0
}

// validValue reports whether b may be (part of) a field value: no control byte but HTAB.
func validValue(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

var tchar = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// validHost accepts what net/http's httpguts.ValidHostHeader accepts: the bytes of a reg-name,
// an IP literal and a port, percent-escapes included (checked for shape by the router later).
func validHost(h []byte) bool {
	for _, c := range h {
		if c >= 0x80 || !hostByte[c] {
			return false
		}
	}
	return true
}

var hostByte = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!$%&'()*+,-.:;=[]_~" {
		t[c] = true
	}
	return t
}()
