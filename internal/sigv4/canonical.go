package sigv4

import (
	"cmp"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
)

// requestPath is the path exactly as the client sent it, still percent-encoded: the first of the
// two escapings in a non-S3 canonical URI is the client's own, so the verifier must see the bytes
// on the wire rather than a re-encoding of the decoded path. On a server request that is the path
// part of RequestURI; for a client-built request (tests, in-process callers) it is EscapedPath,
// which is what the SDK signs and writes on the wire.
func requestPath(r *http.Request) string {
	if u := r.RequestURI; u != "" && u[0] == '/' {
		if i := strings.IndexByte(u, '?'); i >= 0 {
			u = u[:i]
		}
		return u
	}
	if p := r.URL.EscapedPath(); p != "" {
		return p
	}
	return "/"
}

// normalizePath removes "." and ".." segments and empty segments (duplicate slashes), keeping the
// leading and trailing slash. AWS normalizes non-S3 paths this way and botocore signs the
// normalized path, while aws-sdk-go-v2 signs the path as sent; the verifier accepts either.
func normalizePath(p string) string {
	if !strings.Contains(p, "//") && !strings.Contains(p, "/.") {
		return p
	}
	var out []string
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	s := "/" + strings.Join(out, "/")
	if len(out) > 0 && strings.HasSuffix(p, "/") {
		s += "/"
	}
	return s
}

// unreserved reports RFC 3986's unreserved characters, the only ones SigV4 leaves unescaped.
func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

const upperHex = "0123456789ABCDEF"

// appendEscaped appends s URI-encoded per SigV4 (upper-case hex; '/' kept when keepSlash). Applied
// to an already-encoded path this is the second escaping: "%3A" becomes "%253A".
func appendEscaped(dst []byte, s string, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || (keepSlash && c == '/') {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return dst
}

// escapeQuery is appendEscaped for one query key or value, returning s itself when nothing needs
// escaping (the common case) so canonicalizing ordinary queries does not allocate per parameter.
func escapeQuery(s string) string {
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			return string(appendEscaped(make([]byte, 0, len(s)+16), s, false))
		}
	}
	return s
}

// appendCanonicalQuery encodes every parameter (except X-Amz-Signature in a presigned URL), sorts
// by encoded key then encoded value — SigV4 sorts after encoding — and joins them with '&'.
func appendCanonicalQuery(dst []byte, params []queryParam, presigned bool) []byte {
	if len(params) == 0 {
		return dst
	}
	enc := make([]queryParam, 0, len(params))
	for _, p := range params {
		if presigned && p.Key == "X-Amz-Signature" {
			continue
		}
		enc = append(enc, queryParam{escapeQuery(p.Key), escapeQuery(p.Value)})
	}
	slices.SortFunc(enc, func(a, b queryParam) int {
		if c := cmp.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return cmp.Compare(a.Value, b.Value)
	})
	for i, p := range enc {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, p.Key...)
		dst = append(dst, '=')
		dst = append(dst, p.Value...)
	}
	return dst
}

// appendHeader appends the canonical value of the signed header name (lower case): its values,
// trimmed, space-collapsed and comma-joined. Go's server moves Host and Transfer-Encoding out of the
// header map, so those come from the request fields; a signed Content-Length missing from the map
// (client-built requests) comes from ContentLength.
func appendHeader(dst []byte, r *http.Request, name string) []byte {
	switch name {
	case "host":
		if r.Host != "" {
			return appendHeaderValue(dst, r.Host)
		}
		return appendHeaderValue(dst, r.URL.Host)
	case "transfer-encoding":
		if len(r.TransferEncoding) > 0 {
			return append(dst, strings.Join(r.TransferEncoding, ",")...)
		}
	}
	vals, ok := headerByLowerName(r.Header, name)
	if !ok && name == "content-length" && r.ContentLength >= 0 {
		return strconv.AppendInt(dst, r.ContentLength, 10)
	}
	for i, v := range vals {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendHeaderValue(dst, v)
	}
	return dst
}

// headerByLowerName looks a lower-case name up in h under its canonical MIME form, built in a
// stack buffer (textproto would allocate for every lower-case name); a key set directly in the
// map in another case is found by a scan.
func headerByLowerName(h http.Header, name string) ([]string, bool) {
	var buf [64]byte
	if len(name) <= len(buf) {
		key := buf[:len(name)]
		upper := true
		for i := 0; i < len(name); i++ {
			c := name[i]
			if upper && 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			key[i] = c
			upper = c == '-'
		}
		if v, ok := h[string(key)]; ok {
			return v, true
		}
	} else if v, ok := h[textproto.CanonicalMIMEHeaderKey(name)]; ok {
		return v, true
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// appendHeaderValue appends v trimmed and with runs of spaces collapsed to one.
func appendHeaderValue(dst []byte, v string) []byte {
	v = strings.TrimSpace(v)
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		dst = append(dst, c)
	}
	return dst
}

func isLower(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return false
		}
	}
	return true
}

func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// appendCanonicalRequest builds the SigV4 canonical request:
//
//	METHOD \n escape(escapedPath) \n canonical query \n name:value\n… \n signed;headers \n payload hash
//
// path is the client's escaped path (see requestPath); escaping it again is what makes the canonical
// URI of a non-S3 service double-encoded.
func appendCanonicalRequest(dst []byte, r *http.Request, path string, params []queryParam, presigned bool,
	signedHeaders, payloadHash string) []byte {
	dst = append(dst, r.Method...)
	dst = append(dst, '\n')
	dst = appendEscaped(dst, path, true)
	dst = append(dst, '\n')
	dst = appendCanonicalQuery(dst, params, presigned)
	dst = append(dst, '\n')
	for s := signedHeaders; s != ""; {
		var name string
		name, s, _ = strings.Cut(s, ";")
		start := len(dst)
		dst = appendLower(dst, name)
		lname := name
		if !isLower(name) {
			lname = string(dst[start:])
		}
		dst = append(dst, ':')
		dst = appendHeader(dst, r, lname)
		dst = append(dst, '\n')
	}
	dst = append(dst, '\n')
	dst = appendLower(dst, signedHeaders)
	dst = append(dst, '\n')
	dst = append(dst, payloadHash...)
	return dst
}
