package datadir

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestLock checks the exclusive hold within one process (flock locks are per open file, so a
// second Acquire conflicts like a second process would; test/security checks two processes).
func TestLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(dir)
	if st.Mode().Perm() != 0o700 {
		t.Errorf("data directory mode %04o, want 0700", st.Mode().Perm())
	}
	_, err = Acquire(dir)
	want := fmt.Sprintf("data directory %s is in use by PID %d", dir, os.Getpid())
	if err == nil || err.Error() != want {
		t.Fatalf("second Acquire: %v, want %q", err, want)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	l2.Release()

	open := t.TempDir()
	os.Chmod(open, 0o755)
	l3, err := Acquire(open)
	if err != nil {
		t.Fatal(err)
	}
	defer l3.Release()
	if st, _ := os.Stat(open); st.Mode().Perm() != 0o700 {
		t.Errorf("existing 0755 directory left at %04o, want 0700", st.Mode().Perm())
	}
}
