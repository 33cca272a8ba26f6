package snapshot

import (
	"strings"
	"testing"
)

func TestCompileTemplate(t *testing.T) {
	render := func(ps []TemplatePart) string {
		var b strings.Builder
		for _, p := range ps {
			if p.Var != "" {
				b.WriteString("<" + p.Var + ">")
			} else {
				b.WriteString(p.Lit)
			}
		}
		return b.String()
	}
	for _, c := range []struct{ in, want string }{
		{`{"message":$context.error.messageString}`, `{"message":<context.error.messageString>}`},
		{`$context.requestId-x ${context.stage}/${stageVariables.a}`, `<context.requestId>-x <context.stage>/<stageVariables.a>`},
		{`$context.status. $input.body $ $context ${context.x`, `<context.status>. $input.body $ $context ${context.x`},
		{`#set($a = 1)$a`, `#set($a = 1)$a`},
	} {
		if got := render(CompileTemplate(c.in)); got != c.want {
			t.Errorf("%q → %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzCompileTemplate: any template compiles; literal text survives in order and every variable
// is a $context or $stageVariables reference.
func FuzzCompileTemplate(f *testing.F) {
	f.Add(`{"message":$context.error.messageString}`)
	f.Add(`${stageVariables.a}${context.}$context..x`)
	f.Fuzz(func(t *testing.T, s string) {
		n := 0
		for _, p := range CompileTemplate(s) {
			if p.Var != "" {
				if !strings.HasPrefix(p.Var, "context.") && !strings.HasPrefix(p.Var, "stageVariables.") {
					t.Fatalf("variable %q from %q", p.Var, s)
				}
				n += len(p.Var) + 1
				continue
			}
			if !strings.Contains(s, p.Lit) {
				t.Fatalf("literal %q not in %q", p.Lit, s)
			}
			n += len(p.Lit)
		}
		if n > len(s) {
			t.Fatalf("parts longer than the template %q", s)
		}
	})
}
