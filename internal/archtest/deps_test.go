// Package archtest checks the import arrows of the architecture: dependencies point inward, to
// apigw, and the hot path never reaches a database or the management plane.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/tollgate/tollgate/"

// rules: a package (prefix match on the path inside the module) must not import any of the listed
// prefixes, directly or indirectly.
var rules = []struct {
	pkg       string
	forbidden []string
}{
	{"internal/apigw", []string{mod, "!stdlib"}},
	{"internal/sigv4", []string{mod + "internal/store", mod + "internal/control", mod + "internal/mgmt", mod + "internal/awswire"}},
	{"internal/awswire", []string{mod + "internal/control", mod + "internal/store", mod + "internal/mgmt"}},
	{"internal/store", []string{mod + "internal/control", mod + "internal/mgmt", mod + "internal/awswire", mod + "internal/sigv4"}},
	{"internal/control", []string{mod + "internal/mgmt", mod + "internal/sigv4", "modernc.org/sqlite", mod + "internal/store/sqlite"}},
	{"internal/keyimport", []string{mod + "internal/store", mod + "internal/control", mod + "internal/mgmt"}},
	{"internal/openapi", []string{mod + "internal/store", mod + "internal/control", mod + "internal/mgmt"}},
	{"internal/snapshot", []string{mod + "internal/store", mod + "internal/mgmt", mod + "internal/awswire", mod + "internal/control"}},
	{"internal/dataplane", []string{mod + "internal/store", mod + "internal/mgmt", mod + "internal/awswire", mod + "internal/sigv4", "modernc.org/sqlite", "github.com/jackc/pgx"}},
}

func TestImportArrows(t *testing.T) {
	out, err := exec.Command("go", "list", "-e", "-f", `{{.ImportPath}} {{join .Deps " "}}`, mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg, deps := strings.TrimPrefix(fields[0], mod), fields[1:]
		for _, r := range rules {
			if pkg != r.pkg && !strings.HasPrefix(pkg, r.pkg+"/") {
				continue
			}
			checked++
			for _, d := range deps {
				if strings.HasPrefix(pkg, "internal/apigw") && strings.HasPrefix(d, mod+"internal/apigw") {
					continue // apigw's own subpackages
				}
				for _, f := range r.forbidden {
					if f == "!stdlib" {
						if strings.Contains(strings.SplitN(d, "/", 2)[0], ".") {
							t.Errorf("%s must use the standard library only, but depends on %s", pkg, d)
						}
						continue
					}
					if d == strings.TrimSuffix(f, "/") || strings.HasPrefix(d, f) {
						t.Errorf("%s must not depend on %s (via %s)", pkg, f, d)
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no package matched any rule: the module path or layout changed")
	}
}
