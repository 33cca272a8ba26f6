package dataplane

import (
	"net/url"
	"strings"
)

// ErrBadRequest answers a request that cannot be served as sent, such as a path that would let a path variable climb out of its resource
// (docs/path-rule.md): a dot segment above the stage root, or a segment that a lenient backend
// would turn into a dot segment (an encoded slash or backslash, or a ";" parameter, next to dots).
var ErrBadRequest = gw(400, "BadRequestException", "BAD_REQUEST_PARAMETERS", `{"message":"Bad Request"}`)

// NormalizePath applies the data plane's path rule (docs/path-rule.md) to the escaped path after
// the stage, before it is matched:
//
//  1. dot segments — "." and "..", raw or percent-encoded in any case or mixture ("%2e", ".%2E") —
//     between real "/" separators are resolved as RFC 3986 §5.2.4 and nginx resolve them, so the
//     checks of the resource the request really addresses apply; climbing above the stage root is
//     refused;
//  2. any other segment that a lenient backend would still read as a dot segment — after one
//     percent-decoding, split at "/" and "\" and cut at ";" — is refused ("..%2Fadmin",
//     "%2e%2e%5cadmin", "..;x").
//
// ok is false for a refused path. Paths without '.', '%', '\' or ';' (nearly all) are returned as
// they are, without allocating; only attack-shaped paths take the slow path.
func NormalizePath(p string) (string, bool) {
	if !strings.ContainsAny(p, ".%\\;") {
		return p, true
	}
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	out := make([]string, 0, len(segs))
	trailing := false // a resolved dot segment at the end leaves a directory: "/a/.." → "/"
	for i, s := range segs {
		last := i == len(segs)-1
		switch dotSegment(s) {
		case 1:
			trailing = last
			continue
		case 2:
			if len(out) == 0 {
				return "", false
			}
			out = out[:len(out)-1]
			trailing = last
			continue
		}
		if !safeSegment(s) {
			return "", false
		}
		out = append(out, s)
	}
	np := "/" + strings.Join(out, "/")
	if trailing && len(out) > 0 {
		np += "/"
	}
	if p == "" && np == "/" {
		return "", true
	}
	return np, true
}

// dotSegment returns 1 for ".", 2 for ".." (each dot raw or as %2e/%2E), 0 otherwise.
func dotSegment(s string) int {
	dots := 0
	for i := 0; i < len(s); {
		switch {
		case s[i] == '.':
			i++
		case i+2 < len(s) && s[i] == '%' && s[i+1] == '2' && (s[i+2] == 'e' || s[i+2] == 'E'):
			i += 3
		default:
			return 0
		}
		dots++
		if dots > 2 {
			return 0
		}
	}
	return dots
}

// safeSegment reports whether an escaped path segment stays a plain segment for a lenient
// backend: once percent-decoded, split at "/" and "\" and cut at ";", no piece is "." or "..".
func safeSegment(s string) bool {
	if !strings.ContainsAny(s, "%\\;") {
		return dotSegment(s) == 0
	}
	d, err := url.PathUnescape(s)
	if err != nil {
		d = s // not valid escaping: judge the raw bytes, which is what a backend gets
	}
	return SafeValue(d)
}

// SafeValue reports whether a decoded value, put into an upstream path, cannot be read as a dot
// segment: split at "/" and "\" and cut at ";", no piece is "." or "..".
func SafeValue(d string) bool {
	for d != "" {
		i := strings.IndexAny(d, "/\\")
		piece := d
		if i >= 0 {
			piece, d = d[:i], d[i+1:]
		} else {
			d = ""
		}
		piece, _, _ = strings.Cut(piece, ";")
		if piece == "." || piece == ".." {
			return false
		}
	}
	return true
}
