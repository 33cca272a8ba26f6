package mgmt

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestReadmeOperations: the README's table of supported operations lists exactly the
// operations the server routes.
func TestReadmeOperations(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start, end := strings.Index(s, "<!-- operations -->"), strings.Index(s, "<!-- /operations -->")
	if start < 0 || end < start {
		t.Fatal("README.md has no operations table")
	}
	var listed []string
	for _, line := range strings.Split(s[start:end], "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || strings.Contains(line, "---") || strings.Contains(line, "| Area |") {
			continue
		}
		listed = append(listed, regexp.MustCompile(`[A-Za-z]+`).FindAllString(cells[2], -1)...)
	}
	routed := New(nil, nil).Operations()
	for _, op := range routed {
		if !slices.Contains(listed, op) {
			t.Errorf("%s is served but not in the README's table", op)
		}
	}
	for _, op := range listed {
		if !slices.Contains(routed, op) {
			t.Errorf("the README lists %s, which is not served", op)
		}
	}
}
