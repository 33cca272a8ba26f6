package h1

import (
	"bytes"
	"errors"
	"io"
	"net/http/httputil"
	"strings"
	"testing"
)

// decodeAll feeds in to a fresh decoder step bytes at a time, the unconsumed rest carried over
// as a connection's buffer would be, and returns the data and whether the body ended.
func decodeAll(in []byte, step int) ([]byte, bool, error) {
	var c Chunked
	var body, pending []byte
	var data [][]byte
	for off := 0; off < len(in) || len(pending) > 0; {
		end := min(off+step, len(in))
		pending = append(pending, in[off:end]...)
		off = end
		n, out, err := c.Decode(pending, data[:0])
		for _, d := range out {
			body = append(body, d...)
		}
		if err != nil {
			return body, false, err
		}
		pending = pending[n:]
		if c.Done() || (n == 0 && off == len(in)) {
			break
		}
	}
	return body, c.Done(), nil
}

func TestChunked(t *testing.T) {
	for _, tc := range []struct {
		name, in, body string
		err            error
		incomplete     bool
	}{
		{name: "two chunks", in: "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", body: "hello world"},
		{name: "upper-case hex, extensions", in: "A;name=value;q=\"x y\"\r\n0123456789\r\n0; last\r\n\r\n", body: "0123456789"},
		{name: "trailers", in: "3\r\nabc\r\n0\r\nX-Sum: 1\r\nX-Other: two\r\n\r\n", body: "abc"},
		{name: "empty body", in: "0\r\n\r\n", body: ""},
		{name: "cut short", in: "5\r\nhel", body: "hel", incomplete: true},

		{name: "bare LF after size", in: "3\nabc\r\n0\r\n\r\n", err: ErrBareLF},
		{name: "bare LF after data", in: "3\r\nabc\n0\r\n\r\n", err: ErrChunkEnd},
		{name: "data longer than size", in: "3\r\nabcd\r\n0\r\n\r\n", err: ErrChunkEnd},
		{name: "no size", in: "\r\nabc\r\n0\r\n\r\n", err: ErrChunkSize},
		{name: "negative size", in: "-3\r\nabc\r\n0\r\n\r\n", err: ErrChunkSize},
		{name: "size with junk", in: "3x\r\nabc\r\n0\r\n\r\n", err: ErrChunkSize},
		{name: "size with space then junk", in: "3 x\r\nabc\r\n0\r\n\r\n", err: ErrChunkSize},
		{name: "space before extension", in: "3 ;x\r\nabc\r\n0\r\n\r\n", err: ErrChunkSize},
		{name: "space after size", in: "3 \r\nabc\r\n0\r\n\r\n", err: ErrChunkSize},
		{name: "0x prefix", in: "0x3\r\nabc\r\n0\r\n\r\n", err: ErrChunkSize},
		{name: "overflowing size", in: "10000000000000000\r\n", err: ErrChunkSize},
		{name: "size line too long", in: "3;" + strings.Repeat("a", maxChunkLine) + "\r\nabc\r\n0\r\n\r\n", err: ErrChunkLine},
		{name: "trailer obs-fold", in: "0\r\nX-A: a\r\n b\r\n\r\n", err: ErrObsFold},
		{name: "trailer without colon", in: "0\r\nX-A\r\n\r\n", err: ErrTrailer},
		{name: "trailer bare LF", in: "0\r\nX-A: a\n\r\n", err: ErrBareLF},
		{name: "trailers too large", in: "0\r\n" + strings.Repeat("X-A: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", maxTrailers/50+1) + "\r\n", err: ErrTrailersLarge},
	} {
		for _, step := range []int{1, 2, 7, len(tc.in)} {
			body, done, err := decodeAll([]byte(tc.in), step)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Errorf("%s (step %d): err %v, want %v", tc.name, step, err, tc.err)
				}
				continue
			}
			if err != nil || string(body) != tc.body || done == tc.incomplete {
				t.Errorf("%s (step %d): body %q done %v err %v, want %q done %v", tc.name, step, body, done, err, tc.body, !tc.incomplete)
			}
		}
	}
}

// The decoder stops at the end of the body: what follows (the next request) is not consumed.
func TestChunkedStopsAtTheEnd(t *testing.T) {
	in := []byte("3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n")
	var c Chunked
	n, _, err := c.Decode(in, nil)
	if err != nil || !c.Done() || string(in[n:]) != "GET / HTTP/1.1\r\n" {
		t.Fatalf("consumed %d (%q left), done %v, err %v", n, in[n:], c.Done(), err)
	}
}

// FuzzChunked: on any bytes the decoder never panics and never consumes more than it is given;
// a body it accepts whole, net/http's chunked reader (more lenient: bare LFs) reads the same.
func FuzzChunked(f *testing.F) {
	for _, s := range []string{"5\r\nhello\r\n0\r\n\r\n", "3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n", "0\r\n\r\n", "ff\r\n", "3\nabc\n0\n\n"} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, step uint8) {
		body, done, err := decodeAll(in, int(step)+1)
		whole, wholeDone, wholeErr := decodeAll(in, len(in)+1)
		if (err == nil) != (wholeErr == nil) || done != wholeDone || err == nil && !bytes.Equal(body, whole) {
			t.Fatalf("split and whole disagree: %q/%v/%v vs %q/%v/%v", body, done, err, whole, wholeDone, wholeErr)
		}
		if err != nil || !done {
			return
		}
		theirs, terr := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(in)))
		if terr != nil || !bytes.Equal(theirs, body) {
			t.Fatalf("net/http reads %q (%v), we read %q", theirs, terr, body)
		}
	})
}
