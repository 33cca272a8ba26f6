package h1

import "bytes"

// ErrStatusLine refuses a status line that is not "HTTP/1.x SP 3DIGIT [SP reason]".
var ErrStatusLine = fail(502, "malformed status line")

// Body says how a response's body is delimited (RFC 9112 §6.3).
type Body uint8

// The ways a response body ends.
const (
	BodyNone    Body = iota // no body: a response to HEAD, 1xx, 204 or 304
	BodyLength              // Content-Length bytes
	BodyChunked             // chunked transfer coding
	BodyClose               // everything until the backend closes the connection
)

// Response is a parsed response head from a backend. Like Request, its slices alias the buffer
// given to Parse.
type Response struct {
	Status        int
	Minor         int
	Reason        []byte
	Headers       []Header
	Body          Body
	ContentLength int64 // with BodyLength
	// Close: the connection cannot carry another exchange after this response (the backend
	// said so, it is HTTP/1.0 without keep-alive, or the body runs to the close).
	Close   bool
	HeadLen int
}

// Parse parses the response head at the start of buf, the answer to a request whose method was
// head (true for HEAD: its response has no body, whatever its fields say). It returns
// ErrIncomplete while the head is not whole, or an *Error. The rules are the request's, with
// the response's own framing: Transfer-Encoding chunked wins over a Content-Length beside it
// (the connection then closes after the response, RFC 9112 §6.3), and a response with neither
// runs to the close. A 1xx response is returned as such: the caller reads the next head. Any
// refusal means the backend's answer cannot be relayed: the proxy answers 502 (the Error's
// status is what a request would get) and closes the upstream connection, whose framing it can
// no longer trust.
func (r *Response) Parse(buf []byte, head bool) error {
	*r = Response{Headers: r.Headers[:0]}
	line, next, err := nextLine(buf, 0)
	if err != nil {
		return err
	}
	if err := r.statusLine(line); err != nil {
		return err
	}
	var f framing
	r.Headers, next, err = readFields(buf, next, r.Headers, &f, func([]byte, []byte) error { return nil })
	if err != nil {
		return err
	}
	if f.chunked && r.Minor == 0 {
		// HTTP/1.0 has no transfer codings: net/http ignores the field and reads to the
		// close, another parser would read chunks. Framing in doubt is refused (RFC 9112 §6.1).
		return ErrTE10
	}
	r.HeadLen = next
	r.Close = f.close || r.Minor == 0 && !f.keepAlive
	switch {
	case head || r.Status < 200 || r.Status == 204 || r.Status == 304:
		r.Body = BodyNone
	case f.chunked:
		r.Body = BodyChunked
		if f.length >= 0 {
			r.Close = true // framed two ways: never reuse the connection
		}
	case f.length >= 0:
		r.Body, r.ContentLength = BodyLength, f.length
	default:
		r.Body, r.Close = BodyClose, true
	}
	return nil
}

// statusLine parses "HTTP/1.x SP 3DIGIT [SP reason]".
func (r *Response) statusLine(line []byte) error {
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || !isDigit(line[7]) || line[8] != ' ' {
		return ErrStatusLine
	}
	code := line[9:12]
	if !isDigit(code[0]) || !isDigit(code[1]) || !isDigit(code[2]) || code[0] == '0' {
		return ErrStatusLine
	}
	rest := line[12:]
	if len(rest) > 0 {
		if rest[0] != ' ' || !validValue(rest[1:]) {
			return ErrStatusLine
		}
		rest = rest[1:]
	}
	r.Minor = min(int(line[7]-'0'), 1)
	r.Status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	r.Reason = bytes.TrimRight(rest, " \t")
	return nil
}
