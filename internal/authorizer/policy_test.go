package authorizer

import (
	"strings"
	"testing"
	"time"
)

const arn = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/42"

func answer(effect, resource string) string {
	return `{"principalId":"user-1","policyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"` + effect +
		`","Action":"execute-api:Invoke","Resource":` + resource + `}]},"context":{"tier":"gold","n":7,"ok":true},"usageIdentifierKey":"k-123"}`
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		want   Decision
	}{
		{"exact allow", answer("Allow", `"`+arn+`"`), Allowed},
		{"star allow", answer("Allow", `"*"`), Allowed},
		{"wildcard path", answer("Allow", `"arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*"`), Allowed},
		{"question mark", answer("Allow", `"arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/4?"`), Allowed},
		{"other method", answer("Allow", `"arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/*"`), NoMatch},
		{"list", answer("Allow", `["arn:aws:x","arn:aws:execute-api:*:*:abc123/*/GET/*"]`), Allowed},
		{"explicit deny", answer("Deny", `"*"`), Denied},
		{"case sensitive resource", answer("Allow", `"arn:aws:execute-api:us-east-1:123456789012:abc123/prod/get/*"`), NoMatch},
		{"deny wins", `{"principalId":"u","policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"execute-api:*","Resource":"arn:aws:execute-api:*:*:*/prod/GET/pets/*"}]}}`, Denied},
		{"other action", `{"principalId":"u","policyDocument":{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}}`, NoMatch},
		{"action case", `{"principalId":"u","policyDocument":{"Statement":[{"Effect":"Allow","Action":"Execute-API:invoke","Resource":"*"}]}}`, Allowed},
		{"not resource", `{"principalId":"u","policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","NotResource":"*/POST/*"}]}}`, Allowed},
		{"single statement object", `{"principalId":"u","policyDocument":{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}}`, Allowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseAnswer([]byte(tt.answer))
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Policy.Evaluate(arn); got != tt.want {
				t.Fatalf("Evaluate = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestParseAnswer(t *testing.T) {
	r, err := ParseAnswer([]byte(answer("Allow", `"*"`)))
	if err != nil {
		t.Fatal(err)
	}
	if r.PrincipalID != "user-1" || r.UsageIdentifierKey != "k-123" {
		t.Fatalf("got %+v", r)
	}
	for k, want := range map[string]string{"tier": "gold", "n": "7", "ok": "true", "principalId": "user-1"} {
		if v, ok := r.Lookup(k); !ok || v != want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", k, v, ok, want)
		}
	}
	malformed := []string{
		``, `[]`, `{}`, `null`,
		`{"principalId":"u"}`,
		`{"policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}}`,
		`{"principalId":{"a":1},"policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}}`,
		`{"principalId":"u","policyDocument":{"Statement":[]}}`,
		`{"principalId":"u","policyDocument":{"Statement":[{"Effect":"allow","Action":"*","Resource":"*"}]}}`,
		`{"principalId":"u","policyDocument":{"Statement":[{"Effect":"Allow","Resource":"*"}]}}`,
		`{"principalId":"u","policyDocument":{"Statement":[{"Effect":"Allow","Action":"*"}]}}`,
		`{"principalId":"u","policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"x"}]}}`,
		`{"principalId":"u","policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":[]}]}}`,
		`{"principalId":"u","policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"1.2.3.4"}}}]}}`,
		`{"principalId":"u","policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]},"context":{"nested":{"a":1}}}`,
		`{"principalId":"u","policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]},"context":{"list":[1]}}`,
	}
	for _, m := range malformed {
		if _, err := ParseAnswer([]byte(m)); err != ErrMalformed {
			t.Errorf("ParseAnswer(%s) = %v, want ErrMalformed", m, err)
		}
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"", "", true}, {"", "a", false}, {"a*", "a", true}, {"a*c", "abbbc", true},
		{"a*c", "abbb", false}, {"a?c", "abc", true}, {"a?c", "ac", false}, {"*/GET/*", "x/GET/y/z", true},
		{"**a", "bba", true}, {"a*b*c", "axxbyyc", true}, {"a*b*c", "axxbyy", false},
		{strings.Repeat("*a", 20) + "b", strings.Repeat("a", 60), false},
	}
	for _, tt := range tests {
		if got := Glob(tt.p, tt.s, false); got != tt.want {
			t.Errorf("Glob(%q, %q) = %v", tt.p, tt.s, got)
		}
	}
}

func TestScope(t *testing.T) {
	now := time.Unix(1000, 0)
	c := NewCache(func() time.Time { return now })
	key := ScopeKey{Region: "us-east-1", API: "a", Stage: "prod", Deployment: "d1", Authorizer: "x"}
	s := c.Scope(key, time.Minute)
	if c.Scope(key, time.Minute) != s {
		t.Fatal("the same key gave another scope")
	}
	if c.Scope(ScopeKey{Region: "us-east-1", API: "a", Stage: "prod", Deployment: "d1", Authorizer: "x", Epoch: 1}, time.Minute) == s {
		t.Fatal("a flush epoch kept the scope")
	}
	r := &Result{PrincipalID: "p"}
	s.Put([]string{"ab", "c"}, r, now)
	if s.Get([]string{"ab", "c"}, now.Add(59*time.Second)) != r {
		t.Fatal("miss within the TTL")
	}
	if s.Get([]string{"a", "bc"}, now) != nil || s.Get([]string{"abc"}, now) != nil {
		t.Fatal("another identity hit the entry")
	}
	if s.Get([]string{"ab", "c"}, now.Add(time.Minute)) != nil {
		t.Fatal("hit after the TTL")
	}
	zero := c.Scope(ScopeKey{Authorizer: "nocache"}, 0)
	zero.Put([]string{"t"}, r, now)
	if zero.Get([]string{"t"}, now) != nil {
		t.Fatal("a TTL of 0 cached")
	}
	id := []string{"ab", "c"}
	s.Put(id, r, now)
	if n := testing.AllocsPerRun(100, func() { _ = s.Get(id, now) }); n != 0 {
		t.Fatalf("Get allocates %v times", n)
	}
}

func FuzzParseAnswer(f *testing.F) {
	f.Add([]byte(answer("Allow", `"*"`)))
	f.Add([]byte(`{"principalId":1,"policyDocument":{"Statement":{"Effect":"Deny","NotAction":["a"],"Resource":"*"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseAnswer(b)
		if err != nil {
			return
		}
		if r.Policy == nil || len(r.Policy.Statements) == 0 {
			t.Fatal("accepted an answer without statements")
		}
		_ = r.Policy.Evaluate(arn)
	})
}

func FuzzGlob(f *testing.F) {
	f.Add("a*b?c", "axxbyc")
	f.Fuzz(func(t *testing.T, p, s string) {
		if Glob(p, s, false) && !strings.ContainsAny(p, "*?") && p != s {
			t.Fatalf("literal %q matched %q", p, s)
		}
		if !Glob(p, p, false) && !strings.ContainsAny(p, "*?") {
			t.Fatalf("literal %q did not match itself", p)
		}
	})
}

// FuzzPattern: the compiled matcher agrees with Glob, the reference.
func FuzzPattern(f *testing.F) {
	f.Add("arn:aws:execute-api:*:*:api1/dev/GET/*", "arn:aws:execute-api:us-east-1:1:api1/dev/GET/x")
	f.Add("a*a*a", "aaa")
	f.Add("*ab*", "xaby")
	f.Fuzz(func(t *testing.T, p, s string) {
		for _, fold := range []bool{false, true} {
			c := compilePattern(p, fold)
			in := s
			if fold {
				in = asciiLower(s)
			}
			if got, want := c.match(in), Glob(p, s, fold); got != want {
				t.Fatalf("pattern %q on %q (fold %v): compiled %v, Glob %v", p, s, fold, got, want)
			}
		}
	})
}
