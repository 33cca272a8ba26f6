package h1

import "bytes"

// Limits of a chunked body's framing.
const (
	maxChunkLine = 4 << 10  // a chunk-size line with its extensions
	maxTrailers  = 16 << 10 // the trailer section
)

// The refusals of a chunked body; each is a 400 and ends the connection.
var (
	ErrChunkSize     = fail(400, "invalid chunk size")
	ErrChunkLine     = fail(400, "chunk-size line too long")
	ErrChunkEnd      = fail(400, "chunk data not followed by CRLF")
	ErrTrailer       = fail(400, "invalid trailer field")
	ErrTrailersLarge = fail(400, "trailer section too large")
)

type chunkState uint8

const (
	stateSize     chunkState = iota // reading a chunk-size line
	stateData                       // inside a chunk's data
	stateDataEnd                    // expecting the CRLF after a chunk's data
	stateTrailers                   // reading trailer fields after the last chunk
	stateDone
)

// Chunked decodes a chunked request body (RFC 9112 §7.1) as it arrives, without copying data:
// Decode hands back the data bytes of the input it was given. Chunk extensions are read and
// ignored; trailer fields are checked like header fields and dropped (a proxy that re-frames
// the body cannot forward them as trailers). The zero value is ready for a body.
type Chunked struct {
	state    chunkState
	left     int64 // data bytes of the current chunk still to come
	trailers int   // bytes of trailer section read so far
}

// Done reports whether the whole body, trailers included, has been read.
func (c *Chunked) Done() bool { return c.state == stateDone }

// Decode reads framing and data from in. It returns how many bytes of in it consumed and the
// data found among them, in order (each aliases in). A line cut short by the end of in is left
// unconsumed: call again with it and more bytes. err is an *Error for a malformed body.
func (c *Chunked) Decode(in []byte, data [][]byte) (consumed int, out [][]byte, err error) {
	out = data
	p := 0
	for p < len(in) && c.state != stateDone {
		switch c.state {
		case stateSize:
			line, next, err := chunkLine(in, p, maxChunkLine, ErrChunkLine)
			if err != nil {
				return p, out, incompleteOK(err)
			}
			n, err := chunkSize(line)
			if err != nil {
				return p, out, err
			}
			p = next
			if n == 0 {
				c.state = stateTrailers
			} else {
				c.left, c.state = n, stateData
			}
		case stateData:
			n := min(int64(len(in)-p), c.left)
			out = append(out, in[p:p+int(n)])
			p += int(n)
			if c.left -= n; c.left == 0 {
				c.state = stateDataEnd
			}
		case stateDataEnd:
			if len(in)-p < 2 {
				if in[p] != '\r' {
					return p, out, ErrChunkEnd
				}
				return p, out, nil
			}
			if in[p] != '\r' || in[p+1] != '\n' {
				return p, out, ErrChunkEnd
			}
			p += 2
			c.state = stateSize
		case stateTrailers:
			line, next, err := chunkLine(in, p, maxTrailers-c.trailers, ErrTrailersLarge)
			if err != nil {
				return p, out, incompleteOK(err)
			}
			c.trailers += next - p
			p = next
			if len(line) == 0 {
				c.state = stateDone
				break
			}
			if err := checkTrailer(line); err != nil {
				return p, out, err
			}
		}
	}
	return p, out, nil
}

// incompleteOK turns ErrIncomplete into nil: Decode then simply stops and waits for more.
func incompleteOK(err error) error {
	if err == ErrIncomplete {
		return nil
	}
	return err
}

// chunkLine returns the CRLF-ended line at p (at most limit bytes with its CRLF).
func chunkLine(in []byte, p, limit int, tooLong *Error) ([]byte, int, error) {
	i := bytes.IndexByte(in[p:], '\n')
	if i < 0 {
		if len(in)-p >= limit {
			return nil, 0, tooLong
		}
		if cr := bytes.IndexByte(in[p:], '\r'); cr >= 0 && cr < len(in)-p-1 {
			return nil, 0, ErrBareLF
		}
		return nil, 0, ErrIncomplete
	}
	if i+1 > limit {
		return nil, 0, tooLong
	}
	if i == 0 || in[p+i-1] != '\r' {
		return nil, 0, ErrBareLF
	}
	line := in[p : p+i-1]
	if bytes.IndexByte(line, '\r') >= 0 {
		return nil, 0, ErrBareLF
	}
	return line, p + i + 1, nil
}

// chunkSize parses "1*HEXDIG [ chunk-ext ]". A size is at most 15 hex digits (under 2^60), so
// it cannot overflow; extensions are skipped, but may hold no control byte.
func chunkSize(line []byte) (int64, error) {
	var n int64
	i := 0
	for ; i < len(line); i++ {
		v, ok := unhex(line[i])
		if !ok {
			break
		}
		if i == 15 {
			return 0, ErrChunkSize
		}
		n = n<<4 | int64(v)
	}
	if i == 0 {
		return 0, ErrChunkSize
	}
	// Extensions follow the size at once: RFC 9112 allows whitespace before the ";", but
	// net/http and others refuse it, and a body two parsers frame differently is the smuggling
	// risk this package exists to refuse.
	if ext := line[i:]; len(ext) > 0 && (ext[0] != ';' || !validValue(ext)) {
		return 0, ErrChunkSize
	}
	return n, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// checkTrailer checks a trailer line as a header field line.
func checkTrailer(line []byte) error {
	if line[0] == ' ' || line[0] == '\t' {
		return ErrObsFold
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || !isToken(line[:colon]) || !validValue(line[colon+1:]) {
		return ErrTrailer
	}
	return nil
}
