package h1

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func TestParseResponse(t *testing.T) {
	type want struct {
		status int
		body   Body
		length int64
		close  bool
	}
	for _, tc := range []struct {
		name string
		in   string
		head bool
		want want
		err  error
	}{
		{name: "length", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", want: want{200, BodyLength, 5, false}},
		{name: "chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", want: want{200, BodyChunked, 0, false}},
		{name: "chunked wins over length, then close", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", want: want{200, BodyChunked, 0, true}},
		{name: "until close", in: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", want: want{200, BodyClose, 0, true}},
		{name: "head", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", head: true, want: want{200, BodyNone, 0, false}},
		{name: "204", in: "HTTP/1.1 204 No Content\r\n\r\n", want: want{204, BodyNone, 0, false}},
		{name: "304", in: "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", want: want{304, BodyNone, 0, false}},
		{name: "100 continue", in: "HTTP/1.1 100 Continue\r\n\r\n", want: want{100, BodyNone, 0, false}},
		{name: "connection close", in: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", want: want{200, BodyLength, 0, true}},
		{name: "http/1.0", in: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n", want: want{200, BodyLength, 2, true}},
		{name: "http/1.0 keep-alive", in: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n", want: want{200, BodyLength, 2, false}},
		{name: "no reason", in: "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", want: want{404, BodyLength, 0, false}},
		{name: "empty reason", in: "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", want: want{404, BodyLength, 0, false}},

		{name: "two lengths", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", err: ErrTwoLengths},
		{name: "bad length", in: "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n", err: ErrContentLength},
		{name: "chunked in http/1.0", in: "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", err: ErrTE10},
		{name: "gzip coding", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", err: ErrCoding},
		{name: "bare LF", in: "HTTP/1.1 200 OK\nContent-Length: 5\r\n\r\n", err: ErrBareLF},
		{name: "obs-fold", in: "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n", err: ErrObsFold},
		{name: "http/2", in: "HTTP/2.0 200 OK\r\n\r\n", err: ErrStatusLine},
		{name: "two-digit status", in: "HTTP/1.1 20 OK\r\n\r\n", err: ErrStatusLine},
		{name: "status 099", in: "HTTP/1.1 099 X\r\n\r\n", err: ErrStatusLine},
		{name: "no space after status", in: "HTTP/1.1 200OK\r\n\r\n", err: ErrStatusLine},
		{name: "control byte in reason", in: "HTTP/1.1 200 O\x01K\r\n\r\n", err: ErrStatusLine},
		{name: "incomplete", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", err: ErrIncomplete},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Response
			err := r.Parse([]byte(tc.in), tc.head)
			if parseErr(t, err, tc.err) {
				return
			}
			if got := (want{r.Status, r.Body, r.ContentLength, r.Close}); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if r.HeadLen != len(tc.in) {
				t.Errorf("HeadLen %d, want %d", r.HeadLen, len(tc.in))
			}
		})
	}
}

// FuzzParseResponseVsNetHTTP builds a response head from the fuzzer's pieces and reads it with
// this parser and net/http's ReadResponse. This parser may refuse more (bare LF, codings other
// than chunked), never less, and where both accept they agree on the status, the fields, how
// the body is delimited and its length, and whether the connection can be reused.
func FuzzParseResponseVsNetHTTP(f *testing.F) {
	f.Add(uint16(200), "OK", uint8(1), "Content-Type", "text/plain", "Connection", "close", int16(5), false, false)
	f.Add(uint16(204), "No Content", uint8(1), "X-A", "b", "X-B", "c", int16(-1), false, false)
	f.Add(uint16(200), "OK", uint8(0), "Connection", "keep-alive", "X-B", "", int16(3), false, false)
	f.Add(uint16(200), "OK", uint8(1), "X-A", "a", "X-B", "b", int16(3), true, true)
	f.Fuzz(func(t *testing.T, status uint16, reason string, minor uint8, n1, v1, n2, v2 string, length int16, chunked, head bool) {
		minor %= 2
		status = 100 + status%500
		raw := buildHead("HTTP/1."+strconv.Itoa(int(minor))+" "+strconv.Itoa(int(status))+" "+reason, [][2]string{{n1, v1}, {n2, v2}}, length, chunked)

		var ours Response
		err := ours.Parse([]byte(raw), head)
		if err == ErrIncomplete {
			return // a piece with a line break in it ended the head early
		}
		method := "GET"
		if head {
			method = "HEAD"
		}
		theirs, terr := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), &http.Request{Method: method})
		if err == nil && terr != nil {
			t.Fatalf("we accept what net/http refuses (%v):\n%q", terr, raw)
		}
		if err != nil || terr != nil {
			return
		}
		if ours.Status != theirs.StatusCode || ours.Minor != theirs.ProtoMinor {
			t.Fatalf("status: ours %d 1.%d, net/http %d 1.%d\n%q", ours.Status, ours.Minor, theirs.StatusCode, theirs.ProtoMinor, raw)
		}
		var wantBody Body
		switch {
		case head || status < 200 || status == 204 || status == 304:
			wantBody = BodyNone
		case len(theirs.TransferEncoding) > 0:
			wantBody = BodyChunked
		case theirs.ContentLength >= 0:
			wantBody = BodyLength
		default:
			wantBody = BodyClose
		}
		if ours.Body != wantBody || ours.Body == BodyLength && ours.ContentLength != theirs.ContentLength {
			t.Fatalf("framing: ours %v/%d, net/http %v/%d (te %v)\n%q", ours.Body, ours.ContentLength, wantBody, theirs.ContentLength, theirs.TransferEncoding, raw)
		}
		// net/http closes after a response it reads to EOF, or one that says so; it may keep a
		// connection whose response was framed two ways, which this parser never reuses.
		if !ours.Close && theirs.Close {
			t.Fatalf("persistence: ours keeps the connection, net/http closes it\n%q", raw)
		}
	})
}

// FuzzParseResponse feeds the response parser arbitrary bytes: no panic, checkHead's promises,
// a real status, and a body delimited one way only.
func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
		"HTTP/1.0 204 \r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, in []byte, head bool) {
		var r Response
		err := r.Parse(in, head)
		if err == nil {
			if r.Status < 100 || r.Status > 999 {
				t.Fatalf("status %d", r.Status)
			}
			if r.Body != BodyLength && r.ContentLength != 0 || r.Body == BodyClose && !r.Close {
				t.Fatalf("body %v, length %d, close %v", r.Body, r.ContentLength, r.Close)
			}
		}
		checkHead(t, in, err, r.HeadLen, func(prefix []byte) error { var p Response; return p.Parse(prefix, head) })
	})
}
