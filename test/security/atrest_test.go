package security

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/tollgate/tollgate/test/harness"
)

// scanDataDir fails the test if any file under dir holds one of the values, and checks every
// file's mode: the directory 0700, files 0600.
func scanDataDir(t *testing.T, dir, when string, values []string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			if info.Mode().Perm() != 0o700 {
				t.Errorf("%s: directory %s is mode %04o, want 0700", when, path, info.Mode().Perm())
			}
			return nil
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s: %s is mode %04o, want 0600", when, path, info.Mode().Perm())
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, v := range values {
			if bytes.Contains(b, []byte(v)) {
				t.Errorf("%s: the key value %q is in %s", when, v, path)
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) { // a WAL may vanish between the walk and the read
		t.Fatal(err)
	}
}

// TestKeyValuesAtRest (finding 4): imported and created key values appear in no byte of the
// data directory (database, WAL, shared memory), while running and after a stop; the directory
// is 0700 and its files 0600; a master key file is generated and logged at first start; the
// values still read back (GetApiKey includeValue) after a restart and after rotate-master-key;
// and a rotation refuses to run under a live server.
func TestKeyValuesAtRest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := harness.Start(t, harness.Options{DataDir: dir})
	c := s.Client("us-east-1")
	ctx := harness.Ctx(t)
	if !strings.Contains(s.Log(), "generated a master key file") || !strings.Contains(s.Log(), filepath.Join(dir, "master.key")) {
		t.Fatalf("the generated master key file is not logged:\n%s", s.Log())
	}

	var values []string
	var csv strings.Builder
	csv.WriteString("name,key,enabled\n")
	for i := range 50 {
		v := fmt.Sprintf("atrest-marker-%03d-0123456789abcdef", i)
		values = append(values, v)
		fmt.Fprintf(&csv, "k%d,%s,true\n", i, v)
	}
	imp, err := c.ImportApiKeys(ctx, &apigateway.ImportApiKeysInput{Body: []byte(csv.String()), Format: types.ApiKeysFormatCsv})
	if err != nil || len(imp.Ids) != 50 {
		t.Fatalf("ImportApiKeys = %v, %v", imp, err)
	}
	created, err := c.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("made"), Value: aws.String("atrest-marker-created-0123456789")})
	if err != nil {
		t.Fatal(err)
	}
	values = append(values, "atrest-marker-created-0123456789")
	// The update path re-seals too.
	if _, err := c.UpdateApiKey(ctx, &apigateway.UpdateApiKeyInput{ApiKey: created.Id, PatchOperations: []types.PatchOperation{
		{Op: types.OpReplace, Path: aws.String("/description"), Value: aws.String("updated")}}}); err != nil {
		t.Fatal(err)
	}
	scanDataDir(t, dir, "while running", []string{"atrest-marker-"})

	readBack := func(c *apigateway.Client, when string) {
		t.Helper()
		g, err := c.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: created.Id, IncludeValue: aws.Bool(true)})
		if err != nil || aws.ToString(g.Value) != "atrest-marker-created-0123456789" {
			t.Fatalf("%s: GetApiKey includeValue = %v, %v", when, g, err)
		}
		all, err := c.GetApiKeys(ctx, &apigateway.GetApiKeysInput{IncludeValues: aws.Bool(true), Limit: aws.Int32(500)})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, k := range all.Items {
			got[aws.ToString(k.Value)] = true
		}
		for _, v := range values {
			if !got[v] {
				t.Fatalf("%s: GetApiKeys includeValues lacks %s", when, v)
			}
		}
	}
	readBack(c, "before restart")

	// A rotation while the server holds the data directory is refused and changes nothing.
	keyBefore, _ := os.ReadFile(filepath.Join(dir, "master.key"))
	out, code := harness.Run(t, nil, "rotate-master-key", "--data-dir", dir)
	if code == 0 || !strings.Contains(out, fmt.Sprintf("data directory %s is in use by PID %d", dir, s.Pid())) {
		t.Fatalf("rotate-master-key under a live server: exit %d\n%s", code, out)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "master.key")); !bytes.Equal(after, keyBefore) {
		t.Fatal("a refused rotation changed the master key file")
	}
	s.Stop()
	scanDataDir(t, dir, "after stop", []string{"atrest-marker-"})

	out, code = harness.Run(t, nil, "rotate-master-key", "--data-dir", dir)
	if code != 0 {
		t.Fatalf("rotate-master-key: exit %d\n%s", code, out)
	}
	keyAfter, _ := os.ReadFile(filepath.Join(dir, "master.key"))
	if bytes.Equal(keyAfter, keyBefore) {
		t.Fatal("rotate-master-key left the master key file as it was")
	}
	scanDataDir(t, dir, "after rotation", []string{"atrest-marker-"})

	s2 := harness.Start(t, harness.Options{DataDir: dir})
	if strings.Contains(s2.Log(), "generated a master key file") {
		t.Fatal("a restart generated a new master key")
	}
	readBack(s2.Client("us-east-1"), "after rotation and restart")
}

// TestMasterKeyFileRequired: a PostgreSQL store needs an explicit master key file (every node
// must hold the same key), and a named file that is missing or readable by others is refused.
func TestMasterKeyFileRequired(t *testing.T) {
	dir := t.TempDir()
	loose := filepath.Join(dir, "loose.key")
	if err := os.WriteFile(loose, []byte("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(loose, 0o644)
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"postgres without a key file", []string{"check-config", "--store", "postgres://u@127.0.0.1:1/db"}, "--master-key-file is required with a PostgreSQL store"},
		{"missing key file", []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "d1"), "--master-key-file", filepath.Join(dir, "nope.key")}, "no such file"},
		{"key file readable by others", []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "d2"), "--master-key-file", loose}, "must not be readable by group or others"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, code := harness.Run(t, nil, c.args...)
			if code == 0 || !strings.Contains(out, c.want) {
				t.Fatalf("exit %d, want non-zero with %q:\n%s", code, c.want, out)
			}
		})
	}
}

// TestDataDirLock (finding 5): a second serve on a data directory in use exits non-zero at once,
// naming the directory and the PID holding it; the first keeps serving; once it stops, the
// directory can be used again.
func TestDataDirLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := harness.Start(t, harness.Options{DataDir: dir})
	out, code := harness.Run(t, nil, "serve", "--addr", "127.0.0.1:0", "--data-dir", dir)
	want := fmt.Sprintf("data directory %s is in use by PID %d", dir, s.Pid())
	if code == 0 || !strings.Contains(out, want) {
		t.Fatalf("second serve: exit %d, want non-zero with %q:\n%s", code, want, out)
	}
	if _, err := s.Client("us-east-1").GetAccount(harness.Ctx(t), &apigateway.GetAccountInput{}); err != nil {
		t.Fatalf("the first server stopped serving: %v", err)
	}
	s.Kill() // the lock goes with the process, however it ends
	<-s.Exited()
	harness.Start(t, harness.Options{DataDir: dir})
}
