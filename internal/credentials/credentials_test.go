package credentials

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `# Tollgate credentials
[admin]
aws_access_key_id = AKIDADMIN
aws_secret_access_key = admin-secret
tollgate_use = management

; a client of the API
[client]
AWS_ACCESS_KEY_ID=AKIDCLIENT
aws_secret_access_key=client=secret
tollgate_use = invoke

[ops]
aws_access_key_id = AKIDOPS
aws_secret_access_key = ops-secret
tollgate_use = management, invoke
`

func TestParse(t *testing.T) {
	s, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id     string
		use    Use
		secret string
		ok     bool
	}{
		{"AKIDADMIN", Management, "admin-secret", true},
		{"AKIDADMIN", Invoke, "", false},
		{"AKIDCLIENT", Invoke, "client=secret", true},
		{"AKIDCLIENT", Management, "", false},
		{"AKIDOPS", Management, "ops-secret", true},
		{"AKIDOPS", Invoke, "ops-secret", true},
		{"AKIDNONE", Invoke, "", false},
	}
	for _, tc := range tests {
		secret, ok := s.Lookup(tc.id, tc.use)
		if ok != tc.ok || secret != tc.secret {
			t.Errorf("Lookup(%s, %d) = %q, %v; want %q, %v", tc.id, tc.use, secret, ok, tc.secret, tc.ok)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"no use", "[a]\naws_access_key_id=A\naws_secret_access_key=s\n", "tollgate_use is missing"},
		{"bad use", "[a]\naws_access_key_id=A\naws_secret_access_key=s\ntollgate_use=admin\n", `want management, invoke, or both`},
		{"no secret", "[a]\naws_access_key_id=A\ntollgate_use=invoke\n", "aws_secret_access_key is missing"},
		{"no id", "[a]\naws_secret_access_key=s\ntollgate_use=invoke\n", "aws_access_key_id is missing"},
		{"duplicate", "[a]\naws_access_key_id=A\naws_secret_access_key=s\ntollgate_use=invoke\n[b]\naws_access_key_id=A\naws_secret_access_key=t\ntollgate_use=invoke\n", "appears twice"},
		{"key before section", "aws_access_key_id=A\n", "before the first [section]"},
		{"no equals", "[a]\naws_access_key_id A\n", "want key = value"},
		{"unknown key", "[a]\nregion=us-east-1\n", `unknown key "region"`},
		{"bad header", "[a\n", "section header"},
	}
	for _, tc := range tests {
		_, err := Parse(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "=s") {
			t.Errorf("%s: the error shows a secret: %v", tc.name, err)
		}
	}
}

// TestSourceReload: a reload swaps the set; a broken file keeps the one in force; the
// environment's pair serves both uses.
func TestSourceReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(sample)
	src, err := NewSource(path, "AKIDENV", "env-secret")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := src.Lookup("AKIDENV", Invoke); !ok {
		t.Fatal("the environment's pair must invoke")
	}
	if _, ok := src.Lookup("AKIDENV", Management); !ok {
		t.Fatal("the environment's pair must manage")
	}
	write("[new]\naws_access_key_id=AKIDNEW\naws_secret_access_key=n\ntollgate_use=invoke\n")
	if err := src.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, ok := src.Lookup("AKIDADMIN", Management); ok {
		t.Fatal("a removed pair is still accepted")
	}
	if _, ok := src.Lookup("AKIDNEW", Invoke); !ok {
		t.Fatal("an added pair is not accepted")
	}
	write("[broken\n")
	if err := src.Reload(); err == nil {
		t.Fatal("a broken file reloaded")
	}
	if _, ok := src.Lookup("AKIDNEW", Invoke); !ok {
		t.Fatal("a failed reload dropped the set in force")
	}
	write("[dup]\naws_access_key_id=AKIDENV\naws_secret_access_key=x\ntollgate_use=invoke\n")
	if err := src.Reload(); err == nil {
		t.Fatal("the environment's access key id in the file must be refused")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(sample)
	f.Add("[a]\naws_access_key_id=A\naws_secret_access_key=s\ntollgate_use=both\n")
	f.Add("[]\n=\n")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Parse(strings.NewReader(in))
		if err != nil {
			return
		}
		for id, p := range s.pairs {
			if id == "" || p.secret == "" || p.use == 0 || p.use&^(Management|Invoke) != 0 {
				t.Fatalf("accepted an incomplete pair %q: %+v", id, p)
			}
		}
	})
}
