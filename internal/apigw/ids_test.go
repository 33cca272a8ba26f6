package apigw

import (
	"strings"
	"testing"
)

func TestIDs(t *testing.T) {
	for _, tc := range []struct {
		got      string
		n        int
		alphabet string
	}{
		{NewID(ApiKeyIDLen), 10, lowerAlnum},
		{NewID(UsagePlanIDLen), 6, lowerAlnum},
		{NewApiKeyValue(), 40, alnum},
	} {
		if len(tc.got) != tc.n {
			t.Errorf("%q: length %d, want %d", tc.got, len(tc.got), tc.n)
		}
		for _, c := range tc.got {
			if !strings.ContainsRune(tc.alphabet, c) {
				t.Errorf("%q: character %q outside the alphabet", tc.got, c)
			}
		}
	}
	// Every character of the alphabet shows up, and ids do not repeat.
	seen, chars := map[string]bool{}, map[rune]bool{}
	for i := 0; i < 2000; i++ {
		id := NewID(10)
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
		for _, c := range id {
			chars[c] = true
		}
	}
	if len(chars) != len(lowerAlnum) {
		t.Errorf("saw %d distinct characters, want %d", len(chars), len(lowerAlnum))
	}
}
