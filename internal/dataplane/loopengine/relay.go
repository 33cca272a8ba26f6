package loopengine

import (
	"errors"
	"strconv"

	"github.com/tollgate/tollgate/internal/h1"
)

// bodyRelay passes a backend answer's body on as it arrives, in whatever pieces it arrives: a
// Content-Length body as is, a chunked one decoded and framed again (its trailers dropped), one
// that runs to the close framed as chunked for an HTTP/1.1 client. The loop and, once a slow
// client has made the loop let go, a goroutine drive the same state, so an answer can move
// between them at any byte.
type bodyRelay struct {
	framing h1.Body
	left    int64      // BodyLength: bytes still to come
	dec     h1.Chunked // BodyChunked: the decoder's place
	rechunk bool       // the client gets chunked framing
	parts   [][]byte
}

// errExtra: the backend sent more than its framing said; its connection cannot be trusted.
var errExtra = errors.New("backend sent bytes past its answer")

// pump appends to out what in carries for the client and reports how much of in it used and
// whether the body is complete. A chunk line cut short is left unused, for the next call with
// more bytes. err is a malformed body, or errExtra with done when bytes follow the body's end.
func (r *bodyRelay) pump(in, out []byte) (used int, res []byte, done bool, err error) {
	switch r.framing {
	case h1.BodyNone:
		if len(in) > 0 {
			return 0, out, true, errExtra
		}
		return 0, out, true, nil
	case h1.BodyLength:
		n := min(int64(len(in)), r.left)
		out = append(out, in[:n]...)
		r.left -= n
		if r.left == 0 && int64(len(in)) > n {
			return int(n), out, true, errExtra
		}
		return int(n), out, r.left == 0, nil
	case h1.BodyChunked:
		used, r.parts, err = r.dec.Decode(in, r.parts[:0])
		for _, p := range r.parts {
			out = r.appendData(out, p)
		}
		if err != nil {
			return used, out, false, err
		}
		if r.dec.Done() {
			out = r.end(out)
			if used < len(in) {
				return used, out, true, errExtra
			}
			return used, out, true, nil
		}
		return used, out, false, nil
	}
	return len(in), r.appendData(out, in), false, nil // BodyClose: done at the backend's close
}

// appendData appends body bytes, as a chunk when the client gets chunked framing.
func (r *bodyRelay) appendData(out, p []byte) []byte {
	if len(p) == 0 {
		return out
	}
	if !r.rechunk {
		return append(out, p...)
	}
	out = strconv.AppendInt(out, int64(len(p)), 16)
	out = append(out, "\r\n"...)
	out = append(out, p...)
	return append(out, "\r\n"...)
}

// end appends the last chunk when the client gets chunked framing.
func (r *bodyRelay) end(out []byte) []byte {
	if r.rechunk {
		out = append(out, "0\r\n\r\n"...)
	}
	return out
}
