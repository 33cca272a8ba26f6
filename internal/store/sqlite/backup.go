package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Backup writes a consistent copy of the database at path to out while a server may be
// serving from it: VACUUM INTO runs in one read transaction of its own connection, so the copy is
// the database as of one instant (WAL mode lets the server write meanwhile), compacted and
// without the WAL. The copy is written beside out and renamed into place once checked, mode
// 0600: it holds every key's hash and sealed value, the plans and the usage. It does not take
// the data directory's lock, which the running server holds.
func Backup(ctx context.Context, path, out string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("backup: no store at %s: %w", path, err)
	}
	if strings.ContainsAny(out, "'") {
		return errors.New("backup: the output path must not contain a quote")
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	tmp := abs + ".partial"
	_ = os.Remove(tmp)
	db, err := sql.Open("sqlite", path+"?_busy_timeout=10000")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	// The output file is created by SQLite with the process umask; the directory entry is
	// private from the start because the file is made here first, 0600, and VACUUM INTO
	// refuses an existing non-empty file only.
	if f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err != nil {
		return fmt.Errorf("backup: %w", err)
	} else {
		f.Close()
	}
	if _, err := db.ExecContext(ctx, "VACUUM INTO '"+tmp+"'"); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := Check(ctx, tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := syncFile(tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, abs); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup: %w", err)
	}
	return syncDir(filepath.Dir(abs))
}

// Check verifies that file is a whole Tollgate database this binary can open: SQLite's
// integrity check passes and its schema is one this binary knows (older ones are migrated when
// a server opens them). It returns the schema version.
func Check(ctx context.Context, file string) (int, error) {
	head := make([]byte, 16)
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	_, err = io.ReadFull(f, head)
	f.Close()
	if err != nil || string(head) != "SQLite format 3\x00" {
		return 0, fmt.Errorf("%s is not a SQLite database", file)
	}
	db, err := sql.Open("sqlite", file+"?_query_only=1")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var ok string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		return 0, fmt.Errorf("%s fails SQLite's integrity check: %v%s", file, err, ok)
	}
	var version int
	if err := db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&version); err != nil {
		return 0, fmt.Errorf("%s is not a Tollgate store (no schema_migrations table)", file)
	}
	ms, err := loadMigrations()
	if err != nil {
		return 0, err
	}
	if latest := ms[len(ms)-1].Version; version > latest {
		return 0, fmt.Errorf("%s has schema version %d, newer than this binary's %d: restore it with a newer tollgate", file, version, latest)
	} else if version < 1 {
		return 0, fmt.Errorf("%s is not a Tollgate store (no migration applied)", file)
	}
	return version, nil
}

// Restore puts the backup from in place of the database at path, which no server may be using
// (the caller holds the data directory's lock). The backup is checked first; then it is copied
// beside path, synced, and renamed over it after the old WAL and shared-memory files are
// removed, so a crash leaves either the old store or the new one, never a mix.
func Restore(ctx context.Context, path, from string) error {
	if _, err := Check(ctx, from); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	tmp := path + ".restoring"
	if err := copyFile(from, tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("restore: %w", err)
	}
	// A WAL left by the old store would be replayed into the restored one.
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			os.Remove(tmp)
			return fmt.Errorf("restore: %w", err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("restore: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

func syncFile(p string) error {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
