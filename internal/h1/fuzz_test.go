package h1

import (
	"bufio"
	"errors"
	"maps"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzParse feeds the parser arbitrary bytes: no panic, checkHead's promises, and a chunked
// request never has a Content-Length.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"\r\nGET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n",
		"PUT /u HTTP/1.1\r\nHost: [::1]:80\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var r Request
		err := r.Parse(in)
		if err == nil && r.Chunked && r.ContentLength != -1 {
			t.Fatalf("chunked with Content-Length %d", r.ContentLength)
		}
		checkHead(t, in, err, r.HeadLen, func(prefix []byte) error { var p Request; return p.Parse(prefix) })
	})
}

// checkHead checks what both head parsers promise of a parse of in: an accepted head lies within
// in and MaxHead, and each of its prefixes is incomplete (a head read in pieces parses as if
// whole); nothing is incomplete beyond MaxHead (a client cannot make the engine buffer forever);
// a refusal is an *Error.
func checkHead(t *testing.T, in []byte, err error, headLen int, parse func([]byte) error) {
	t.Helper()
	switch {
	case err == nil:
		if headLen <= 0 || headLen > len(in) || headLen > MaxHead {
			t.Fatalf("HeadLen %d of %d bytes", headLen, len(in))
		}
		for n := range headLen {
			if perr := parse(in[:n]); perr != ErrIncomplete {
				t.Fatalf("prefix of %d bytes of an accepted head: %v", n, perr)
			}
		}
	case err == ErrIncomplete:
		if len(in) > MaxHead {
			t.Fatalf("incomplete after %d bytes", len(in))
		}
	default:
		var e *Error
		if !errors.As(err, &e) || e.Status < 400 {
			t.Fatalf("refusal %v is not an *Error with a status", err)
		}
	}
}

// FuzzParseVsNetHTTP builds a request from the fuzzer's pieces and parses it with both this
// package and net/http's ReadRequest. This parser may refuse more (it is stricter by design:
// Content-Length with Transfer-Encoding, for one), never less: what it accepts, net/http's
// server accepts too, and both then read the same method, target, version, fields, Host, body
// framing and connection persistence.
func FuzzParseVsNetHTTP(f *testing.F) {
	f.Add("GET", "/a?b=c", uint8(1), "X-Api-Key", "key-1", "Connection", "close", int16(-1), false)
	f.Add("POST", "/p/%20q", uint8(1), "Content-Type", "application/json", "Expect", "100-continue", int16(12), false)
	f.Add("PUT", "/u", uint8(1), "Accept", "*/*", "X-A", "b", int16(-1), true)
	f.Add("GET", "/", uint8(0), "Connection", "keep-alive", "X-B", "", int16(-1), false)
	f.Fuzz(func(t *testing.T, method, target string, minor uint8, n1, v1, n2, v2 string, length int16, chunked bool) {
		minor %= 2
		fields := [][2]string{{n1, v1}, {n2, v2}}
		if minor == 1 {
			fields = append([][2]string{{"Host", "example.com"}}, fields...)
		}
		raw := buildHead(method+" "+target+" HTTP/1."+strconv.Itoa(int(minor)), fields, length, chunked)

		var ours Request
		err := ours.Parse([]byte(raw))
		theirs, terr := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		theirsOK := terr == nil && serverAccepts(theirs)
		if err == ErrIncomplete {
			// A field value or name with a line break in it ended the head early: only
			// net/http's view of the same bytes is a head.
			return
		}
		if _, uerr := url.ParseRequestURI(target); uerr != nil && err == nil {
			// The target's meaning (escapes, an absolute URL's authority) is the router's to
			// judge, as it is with the other engines: this parser only delimits it.
			return
		}
		if err == nil && terr != nil {
			t.Fatalf("we accept what net/http refuses (%v):\n%q", terr, raw)
		}
		if !theirsOK || err != nil {
			return // net/http refuses it, or this stricter parser does: both refuse or only we do
		}
		if string(ours.Method) != theirs.Method || string(ours.Target) != theirs.RequestURI || ours.Minor != theirs.ProtoMinor {
			t.Fatalf("request line: ours %q %q 1.%d, net/http %q %q 1.%d", ours.Method, ours.Target, ours.Minor, theirs.Method, theirs.RequestURI, theirs.ProtoMinor)
		}
		got := http.Header{}
		for _, h := range ours.Headers {
			k := textproto.CanonicalMIMEHeaderKey(string(h.Name))
			if k == "Host" || k == "Content-Length" && len(got[k]) > 0 {
				continue // net/http keeps one of equal Content-Lengths, and Host apart
			}
			got[k] = append(got[k], string(h.Value))
		}
		want := theirs.Header.Clone()
		if len(theirs.TransferEncoding) > 0 {
			want["Transfer-Encoding"] = theirs.TransferEncoding // net/http moves it out of Header
		}
		if !maps.EqualFunc(got, want, slices.Equal[[]string]) {
			t.Fatalf("fields: ours %v, net/http %v\n%q", got, want, raw)
		}
		length64 := ours.ContentLength
		if length64 < 0 && !ours.Chunked {
			length64 = 0
		}
		if ours.Chunked != (len(theirs.TransferEncoding) > 0) || length64 != theirs.ContentLength {
			t.Fatalf("framing: ours chunked %v length %d, net/http %v %d", ours.Chunked, ours.ContentLength, theirs.TransferEncoding, theirs.ContentLength)
		}
		if ours.Close != theirs.Close {
			t.Fatalf("persistence: ours close %v, net/http %v\n%q", ours.Close, theirs.Close, raw)
		}
		if string(ours.Host) != theirs.Host {
			t.Fatalf("host: ours %q, net/http %q", ours.Host, theirs.Host)
		}
	})
}

// serverAccepts applies the checks net/http's server makes after ReadRequest: a Host for
// HTTP/1.1, one at most and well formed, and a supported Expect.
func serverAccepts(r *http.Request) bool {
	hosts := r.Header.Values("Host")
	if r.ProtoAtLeast(1, 1) && r.Host == "" && len(hosts) == 0 || len(hosts) > 1 || !validHost([]byte(r.Host)) {
		return false
	}
	if e := r.Header.Get("Expect"); e != "" && !strings.EqualFold(e, "100-continue") {
		return false
	}
	for _, v := range r.Header["Content-Length"] {
		if strings.TrimSpace(v) != strings.TrimSpace(r.Header.Get("Content-Length")) {
			return false
		}
	}
	return true
}

// buildHead writes a message head: the start line, the fields, a Content-Length unless length
// is negative, Transfer-Encoding: chunked if asked, and the empty line.
func buildHead(start string, fields [][2]string, length int16, chunked bool) string {
	var b strings.Builder
	b.WriteString(start + "\r\n")
	for _, h := range fields {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	if length >= 0 {
		b.WriteString("Content-Length: " + strconv.Itoa(int(length)) + "\r\n")
	}
	if chunked {
		b.WriteString("Transfer-Encoding: chunked\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}
