package sqlstore

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one embedded schema step. Files are named NNNN_description.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// LoadMigrations returns the migrations in dir of fsys sorted by version; a file name without a
// positive version, or two files with the same one, is an error (name prefixes it).
func LoadMigrations(name string, fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("%s: bad migration file name %q", name, e.Name())
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("%s: duplicate migration version %d", name, out[i].Version)
		}
	}
	return out, nil
}

// Pending returns the migrations after version current. A database whose schema is newer than
// the newest migration is refused, rather than written to with assumptions this binary does not
// know.
func Pending(name string, ms []Migration, current int) ([]Migration, error) {
	if n := len(ms); n > 0 && current > ms[n-1].Version {
		return nil, fmt.Errorf("%s: database schema version %d is newer than this binary (%d)", name, current, ms[n-1].Version)
	}
	i := sort.Search(len(ms), func(i int) bool { return ms[i].Version > current })
	return ms[i:], nil
}
