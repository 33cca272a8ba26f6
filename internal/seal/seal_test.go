package seal

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	kr, err := New(NewKey())
	if err != nil {
		t.Fatal(err)
	}
	other, _ := New(NewKey())
	const value = "abcdefghijklmnopqrstuvwxyz0123456789ABCD"
	s := kr.Seal(value, "api_keys/k1")
	if strings.Contains(s, value) || !strings.HasPrefix(s, "tg1."+kr.ActiveID()+".") {
		t.Fatalf("sealed form %q", s)
	}
	if s2 := kr.Seal(value, "api_keys/k1"); s2 == s {
		t.Fatal("two seals of one value are equal: the nonce is not fresh")
	}
	if got, err := kr.Open(s, "api_keys/k1"); err != nil || got != value {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if SealedWith(s) != kr.ActiveID() || SealedWith(value) != "" {
		t.Fatalf("SealedWith: %q, %q", SealedWith(s), SealedWith(value))
	}
	// A flipped bit of the ciphertext itself: flipping a bit of the encoded text's last character
	// may only touch base64's unused padding bits, which decode to the same bytes.
	dot := strings.LastIndexByte(s, '.')
	raw, err := base64.RawURLEncoding.DecodeString(s[dot+1:])
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 1
	flipped := s[:dot+1] + base64.RawURLEncoding.EncodeToString(raw)
	for name, c := range map[string]struct {
		kr     *Keyring
		s, aad string
	}{
		"another row":  {kr, s, "api_keys/k2"},
		"another key":  {other, s, "api_keys/k1"},
		"not sealed":   {kr, value, "api_keys/k1"},
		"truncated":    {kr, s[:len(s)-4], "api_keys/k1"},
		"flipped byte": {kr, flipped, "api_keys/k1"},
		"no body":      {kr, "tg1." + kr.ActiveID(), "api_keys/k1"},
		"short body":   {kr, "tg1." + kr.ActiveID() + ".AAAA", "api_keys/k1"},
		"bad base64":   {kr, "tg1." + kr.ActiveID() + ".!!!!", "api_keys/k1"},
	} {
		if _, err := c.kr.Open(c.s, c.aad); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: Open err = %v, want ErrOpen", name, err)
		}
	}
}

func TestFileAndRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	kr, created, err := LoadOrCreate(path)
	if err != nil || !created {
		t.Fatalf("LoadOrCreate = %v, %v", created, err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("new master key file mode %04o", st.Mode().Perm())
	}
	again, created, err := LoadOrCreate(path)
	if err != nil || created || again.ActiveID() != kr.ActiveID() {
		t.Fatalf("second LoadOrCreate = %v, %v", created, err)
	}
	sealed := kr.Seal("value-1234567890123456789", "r")

	rot, err := BeginRotation(path)
	if err != nil {
		t.Fatal(err)
	}
	if rot.Keyring.ActiveID() == kr.ActiveID() {
		t.Fatal("rotation kept the sealing key")
	}
	mid, _ := Load(path) // a crash here: the file opens old and new values
	if v, err := mid.Open(sealed, "r"); err != nil || v != "value-1234567890123456789" {
		t.Fatalf("mid-rotation Open = %q, %v", v, err)
	}
	resealed := rot.Keyring.Seal("value-1234567890123456789", "r")
	if err := rot.Finish(); err != nil {
		t.Fatal(err)
	}
	after, err := Load(path)
	if err != nil || after.ActiveID() != rot.Keyring.ActiveID() {
		t.Fatalf("after rotation: %v", err)
	}
	if _, err := after.Open(sealed, "r"); !errors.Is(err, ErrOpen) {
		t.Fatalf("old key still opens after Finish: %v", err)
	}
	if v, err := after.Open(resealed, "r"); err != nil || v != "value-1234567890123456789" {
		t.Fatalf("Open after rotation = %q, %v", v, err)
	}
}

func TestLoadRefuses(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		return p
	}
	good := string(Format(NewKey()))
	for _, c := range []struct {
		name, content, want string
		mode                os.FileMode
	}{
		{"readable", good, "must not be readable", 0o644},
		{"empty", "# nothing\n\n", "holds no key", 0o600},
		{"short", "c2hvcnQ=\n", "line 1 is not", 0o600},
		{"garbage", "# c\nnot base64 at all\n", "line 2 is not", 0o600},
	} {
		_, err := Load(write(c.name, c.content, c.mode))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
		if err != nil && c.name == "garbage" && strings.Contains(err.Error(), "not base64 at all") {
			t.Errorf("the error quotes the file's line")
		}
	}
	if _, err := Load(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(string(Format(NewKey())))
	f.Add("# c\n\n  AAAA\n")
	f.Fuzz(func(t *testing.T, s string) {
		kr, err := Parse([]byte(s))
		if err != nil {
			return
		}
		v := kr.Seal("x", "a")
		if got, err := kr.Open(v, "a"); err != nil || got != "x" {
			t.Fatalf("a parsed keyring does not round-trip: %v", err)
		}
	})
}
