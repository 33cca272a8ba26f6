package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

// TestReleaseMemory: after reads on several connections, ReleaseMemory leaves none of the file
// resident through their maps, and the connections read as before. (What it gives back of the
// page caches is not observable here: this build of SQLite keeps no memory statistics.)
func TestReleaseMemory(t *testing.T) {
	if _, err := os.Stat("/proc/self/smaps"); err != nil {
		t.Skip("needs /proc/self/smaps")
	}
	path := filepath.Join(t.TempDir(), "tollgate.db")
	s := openAt(t, path)
	ctx := context.Background()
	const n = 3000
	err := s.Update(ctx, "us-east-1", func(tx store.Tx) error {
		keys := make([]*apigw.ApiKey, n)
		for i := range keys {
			keys[i] = &apigw.ApiKey{ID: fmt.Sprintf("k%06d", i), Value: fmt.Sprintf("value-%06d-0123456789abcdef", i), Name: strings.Repeat("n", 200), Enabled: true}
		}
		_, err := tx.PutApiKeys(keys)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Into the file: pages still in the WAL are read into the page cache, not through the map.
	if _, err := s.writer.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	readAll := func() {
		t.Helper()
		var wg sync.WaitGroup
		for range readers {
			wg.Go(func() {
				if err := s.View(ctx, "us-east-1", func(tx store.Tx) error {
					keys, _, err := tx.ListApiKeys(store.ApiKeyFilter{}, store.Page{})
					if err == nil && len(keys) != n {
						err = fmt.Errorf("%d keys listed, want %d", len(keys), n)
					}
					return err
				}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	readAll()
	mapped := mappedKB(t, path)
	if mapped == 0 {
		t.Fatal("no page of the file is resident through a map after the reads: the test shows nothing")
	}
	s.ReleaseMemory(ctx)
	if after := mappedKB(t, path); after != 0 {
		t.Errorf("%d kB of the file resident through maps after ReleaseMemory, %d before", after, mapped)
	}
	readAll() // the maps are made again as reads need them
	if mappedKB(t, path) == 0 {
		t.Error("reads after ReleaseMemory do not go through a map")
	}
}

// mappedKB sums the resident kB of this process's mappings of path.
func mappedKB(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	total, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":"):
			in = len(fields) >= 6 && fields[5] == path // a mapping's first line
		case in && len(fields) == 3 && fields[0] == "Rss:":
			kb, _ := strconv.Atoi(fields[1])
			total += kb
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return total
}
