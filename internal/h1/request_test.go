package h1

import (
	"bufio"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// Every refusal of the package doc, and the requests parsers agree on, with the framing each
// gets. The malformed rows are the request-smuggling and malformed-request cases of issue 12.
func TestParse(t *testing.T) {
	type want struct {
		method, target string
		minor          int
		length         int64
		chunked, close bool
		expect         bool
	}
	ok := func(w want) want { return w }
	for _, tc := range []struct {
		name string
		in   string
		want want
		err  error
	}{
		{name: "get", in: "GET /a?b=c HTTP/1.1\r\nHost: x\r\n\r\n", want: ok(want{method: "GET", target: "/a?b=c", minor: 1, length: -1})},
		{name: "post with length", in: "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", want: want{method: "POST", target: "/p", minor: 1, length: 5}},
		{name: "two equal lengths", in: "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n", want: want{method: "POST", target: "/p", minor: 1, length: 5}},
		{name: "chunked", in: "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n", want: want{method: "POST", target: "/p", minor: 1, length: -1, chunked: true}},
		{name: "connection close", in: "GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Close\r\n\r\n", want: want{method: "GET", target: "/", minor: 1, length: -1, close: true}},
		{name: "http/1.0 closes", in: "GET / HTTP/1.0\r\n\r\n", want: want{method: "GET", target: "/", minor: 0, length: -1, close: true}},
		{name: "http/1.0 keep-alive", in: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", want: want{method: "GET", target: "/", minor: 0, length: -1}},
		{name: "http/1.2 served as 1.1", in: "GET / HTTP/1.2\r\nHost: x\r\n\r\n", want: want{method: "GET", target: "/", minor: 1, length: -1}},
		{name: "expect 100-continue", in: "PUT /u HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 9\r\n\r\n", want: want{method: "PUT", target: "/u", minor: 1, length: 9, expect: true}},
		{name: "leading empty lines", in: "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", want: want{method: "GET", target: "/", minor: 1, length: -1}},
		{name: "absolute form", in: "GET http://x/a HTTP/1.1\r\nHost: x\r\n\r\n", want: want{method: "GET", target: "http://x/a", minor: 1, length: -1}},
		{name: "asterisk form", in: "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", want: want{method: "OPTIONS", target: "*", minor: 1, length: -1}},
		{name: "value whitespace trimmed, empty value", in: "GET / HTTP/1.1\r\nHost: x\r\nX-A: \t v \t\r\nX-B:\r\n\r\n", want: want{method: "GET", target: "/", minor: 1, length: -1}},
		{name: "ipv6 host with port", in: "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", want: want{method: "GET", target: "/", minor: 1, length: -1}},

		{name: "CL and TE", in: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", err: ErrLengthAndChunked},
		{name: "TE and CL", in: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", err: ErrLengthAndChunked},
		{name: "two lengths", in: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", err: ErrTwoLengths},
		{name: "length list", in: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\n", err: ErrContentLength},
		{name: "signed length", in: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\n", err: ErrContentLength},
		{name: "hex length", in: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x3\r\n\r\n", err: ErrContentLength},
		{name: "huge length", in: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9999999999999999999\r\n\r\n", err: ErrContentLength},
		{name: "empty length", in: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", err: ErrContentLength},
		{name: "te gzip", in: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", err: ErrCoding},
		{name: "te list", in: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", err: ErrCoding},
		{name: "te twice", in: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", err: ErrCoding},
		{name: "te with junk", in: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n", err: ErrCoding},
		{name: "te in 1.0", in: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", err: ErrTE10},
		{name: "space before colon", in: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n", err: ErrSpaceBeforeColon},
		{name: "obs-fold", in: "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", err: ErrObsFold},
		{name: "obs-fold of te", in: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n", err: ErrCoding},
		{name: "bare LF in a field", in: "GET / HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n", err: ErrBareLF},
		{name: "bare LF request line", in: "GET / HTTP/1.1\nHost: x\r\n\r\n", err: ErrBareLF},
		{name: "bare LF ends head", in: "GET / HTTP/1.1\r\nHost: x\r\n\n", err: ErrBareLF},
		{name: "bare LF before request", in: "\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", err: ErrBareLF},
		{name: "bare CR in a value", in: "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", err: ErrBareLF},
		{name: "NUL in a value", in: "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", err: ErrHeaderValue},
		{name: "no colon", in: "GET / HTTP/1.1\r\nHost: x\r\nX-A\r\n\r\n", err: ErrHeaderName},
		{name: "empty name", in: "GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", err: ErrHeaderName},
		{name: "name with slash", in: "GET / HTTP/1.1\r\nHost: x\r\nX/A: v\r\n\r\n", err: ErrHeaderName},
		{name: "no host", in: "GET / HTTP/1.1\r\n\r\n", err: ErrNoHost},
		{name: "two hosts", in: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", err: ErrTwoHosts},
		{name: "bad host", in: "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", err: ErrHost},
		{name: "host with slash", in: "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", err: ErrHost},
		{name: "two spaces", in: "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", err: ErrRequestLine},
		{name: "no version", in: "GET /\r\nHost: x\r\n\r\n", err: ErrRequestLine},
		{name: "lower-case version", in: "GET / http/1.1\r\nHost: x\r\n\r\n", err: ErrRequestLine},
		{name: "http/2", in: "GET / HTTP/2.0\r\nHost: x\r\n\r\n", err: ErrVersion},
		{name: "method not a token", in: "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", err: ErrMethod},
		{name: "target with control byte", in: "GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n", err: ErrTarget},
		{name: "relative target", in: "GET a HTTP/1.1\r\nHost: x\r\n\r\n", err: ErrTarget},
		{name: "authority form", in: "CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n", err: ErrTarget},
		{name: "expect other", in: "GET / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n", err: ErrExpectation},
		{name: "head too large", in: "GET / HTTP/1.1\r\nHost: x\r\nX-A: " + strings.Repeat("a", MaxHead) + "\r\n\r\n", err: ErrHeadTooLarge},
		{name: "too many headers", in: "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-A: b\r\n", MaxHeaders) + "\r\n", err: ErrTooManyHeaders},
		{name: "incomplete", in: "GET / HTTP/1.1\r\nHost: x\r\n", err: ErrIncomplete},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Request
			err := r.Parse([]byte(tc.in))
			if parseErr(t, err, tc.err) {
				return
			}
			got := want{string(r.Method), string(r.Target), r.Minor, r.ContentLength, r.Chunked, r.Close, r.ExpectContinue}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			lead := len(tc.in) - len(strings.TrimLeft(tc.in, "\r\n"))
			if body := lead + strings.Index(tc.in[lead:], "\r\n\r\n") + 4; r.HeadLen != body {
				t.Errorf("HeadLen %d, want %d", r.HeadLen, body)
			}
		})
	}
}

// A head that arrives a byte at a time is incomplete until its last byte, then parses as if it
// had come whole; a malformed one is refused no later than its last byte.
func TestParseIncremental(t *testing.T) {
	for _, in := range []string{
		"GET /a HTTP/1.1\r\nHost: x\r\nX-Api-Key: k\r\n\r\n",
		"\r\nPOST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n",
	} {
		var whole Request
		wantErr := whole.Parse([]byte(in))
		for n := range len(in) {
			var r Request
			if err := r.Parse([]byte(in[:n])); err != ErrIncomplete && (wantErr == nil || err != wantErr) {
				t.Errorf("%q cut at %d: %v, want incomplete", in, n, err)
			}
		}
	}
}

// Parsing reuses the header slice and allocates nothing.
func TestParseAllocs(t *testing.T) {
	in := []byte("GET /prod/items?x=1 HTTP/1.1\r\nHost: abc.execute-api.us-east-1.amazonaws.com\r\nX-Api-Key: key-0000000001\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n")
	var r Request
	if n := testing.AllocsPerRun(100, func() {
		if err := r.Parse(in); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations a parse", n)
	}
}

func BenchmarkParse(b *testing.B) {
	in := []byte("GET /prod/items?x=1 HTTP/1.1\r\nHost: abc.execute-api.us-east-1.amazonaws.com\r\nX-Api-Key: key-0000000001\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n")
	var r Request
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if err := r.Parse(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseNetHTTP(b *testing.B) {
	in := "GET /prod/items?x=1 HTTP/1.1\r\nHost: abc.execute-api.us-east-1.amazonaws.com\r\nX-Api-Key: key-0000000001\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n"
	b.SetBytes(int64(len(in)))
	rd := strings.NewReader(in)
	br := bufio.NewReader(rd)
	for b.Loop() {
		rd.Reset(in)
		br.Reset(rd)
		if _, err := http.ReadRequest(br); err != nil {
			b.Fatal(err)
		}
	}
}

// parseErr checks Parse's error against want (nil: success wanted) and reports whether the case
// is settled: an expected error was found, or it failed.
func parseErr(t *testing.T, err, want error) bool {
	t.Helper()
	if want != nil {
		if !errors.Is(err, want) {
			t.Fatalf("Parse = %v, want %v", err, want)
		}
		return true
	}
	if err != nil {
		t.Fatalf("Parse = %v", err)
	}
	return false
}
