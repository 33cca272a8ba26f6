package authorizer

import (
	"maps"
	"slices"
	"strings"
)

// Glob matches s against an IAM pattern: '*' is any run of characters (none included), '?'
// any one byte (method ARNs are ASCII: their paths are percent-encoded); everything else is literal. fold compares ASCII letters
// case-insensitively. It runs in O(len(p)·len(s)) at worst, without allocating, so a
// hostile pattern cannot make it backtrack exponentially.
func Glob(p, s string, fold bool) bool {
	px, sx := 0, 0
	nextPx, nextSx := -1, -1
	for px < len(p) || sx < len(s) {
		if px < len(p) {
			switch c := p[px]; c {
			case '*':
				nextPx, nextSx = px, sx+1
				px++
				continue
			case '?':
				if sx < len(s) {
					px++
					sx++
					continue
				}
			default:
				if sx < len(s) && eq(c, s[sx], fold) {
					px++
					sx++
					continue
				}
			}
		}
		if nextSx > 0 && nextSx <= len(s) {
			px, sx = nextPx, nextSx
			continue
		}
		return false
	}
	return true
}

func eq(a, b byte, fold bool) bool {
	if a == b {
		return true
	}
	if !fold {
		return false
	}
	if 'A' <= a && a <= 'Z' {
		a += 'a' - 'A'
	}
	if 'A' <= b && b <= 'Z' {
		b += 'a' - 'A'
	}
	return a == b
}

// sortedKeys are a map's keys in order (answers are read deterministically).
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// pattern is a compiled IAM pattern. Without '?', it is its literal pieces between '*'s,
// matched with prefix, suffix and substring searches (linear, vectorised); with a '?' it falls
// back to Glob.
type pattern struct {
	raw    string
	pieces []string // split on '*'; nil when raw holds a '?'
	fold   bool
}

func compilePattern(p string, fold bool) pattern {
	if strings.IndexByte(p, '?') >= 0 {
		return pattern{raw: p, fold: fold}
	}
	if fold {
		p = asciiLower(p)
	}
	return pattern{raw: p, pieces: strings.Split(p, "*"), fold: fold}
}

// match reports whether s matches. A folding pattern wants s with its ASCII letters
// lower-cased already (actions are matched against a constant, lower-cased once).
func (p *pattern) match(s string) bool {
	if p.pieces == nil {
		return Glob(p.raw, s, p.fold)
	}
	first, last := p.pieces[0], p.pieces[len(p.pieces)-1]
	if len(p.pieces) == 1 {
		return s == first
	}
	if !strings.HasPrefix(s, first) {
		return false
	}
	s = s[len(first):]
	for _, mid := range p.pieces[1 : len(p.pieces)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, last)
}

// asciiLower lower-cases ASCII letters only, as eq folds them.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
