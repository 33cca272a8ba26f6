// Package ctxref splits text into literal runs and API Gateway references — $context.x.y,
// $stageVariables.x, and their ${…} forms — the one tokenizer behind access-log formats and
// gateway-response templates. Anything else, VTL directives included, stays literal text.
package ctxref

import "strings"

// Part is literal text (Ref "") or a reference such as "context.error.message".
type Part struct {
	Lit, Ref string
}

// Split cuts s into parts; only references starting with one of prefixes (e.g. "context.")
// are references, and a prefix with no name after it ("$context.") stays text.
func Split(s string, prefixes ...string) []Part {
	var parts []Part
	var lit strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '$' {
			if name, n := reference(s[i+1:], prefixes); n > 0 {
				if lit.Len() > 0 {
					parts = append(parts, Part{Lit: lit.String()})
					lit.Reset()
				}
				parts = append(parts, Part{Ref: name})
				i += 1 + n
				continue
			}
		}
		lit.WriteByte(s[i])
		i++
	}
	if lit.Len() > 0 {
		parts = append(parts, Part{Lit: lit.String()})
	}
	return parts
}

// reference reads a reference after the '$' and returns its name and length, 0 when the text
// is not one.
func reference(s string, prefixes []string) (string, int) {
	braced := strings.HasPrefix(s, "{")
	body := s
	if braced {
		body = s[1:]
	}
	prefix := ""
	for _, p := range prefixes {
		if strings.HasPrefix(body, p) {
			prefix = p
			break
		}
	}
	if prefix == "" {
		return "", 0
	}
	j := 0
	for j < len(body) && (isIdent(body[j]) || body[j] == '.') {
		j++
	}
	name := strings.TrimRight(body[:j], ".")
	if len(name) <= len(prefix)-1 || strings.Contains(name, "..") {
		return "", 0 // "$context." names nothing: it stays text
	}
	if braced {
		if j >= len(body) || body[j] != '}' || len(name) != j {
			return "", 0
		}
		return name, len(name) + 2
	}
	return name, len(name)
}

func isIdent(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}
