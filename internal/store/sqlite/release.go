package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// ReleaseMemory hands back what the connections keep from reads already done: each drops the
// unused pages of its page cache (PRAGMA shrink_memory) and its map of the file, which SQLite
// makes again, untouched, for the reads that follow. A bulk read leaves both full, and every
// connection maps the file apart, so a page read by two of them counts twice in the process's
// RSS: at a million keys, a load reading the key index on several connections side by side
// left about 60 MB more of the file resident than one reading it alone.
//
// It waits for connections busy in a transaction, and holds every idle reader while it runs (a
// few milliseconds), so Views wait meanwhile; the writer is taken after the readers are given
// back, so that an Update that reads on the side never waits for them. It only frees memory: a
// failure leaves that memory where it was, and is not reported.
func (s *Store) ReleaseMemory(ctx context.Context) {
	done, err := s.enter()
	if err != nil {
		return
	}
	defer done()
	// Only the connections the pool has open: asking for more would open new ones.
	open := s.reader.Stats().OpenConnections
	readers := make([]*sql.Conn, 0, open)
	for range open {
		c, err := s.reader.Conn(ctx)
		if err != nil {
			break
		}
		readers = append(readers, c)
	}
	for _, c := range readers {
		release(ctx, c)
		c.Close() // back to the pool
	}
	if w, err := s.writer.Conn(ctx); err == nil {
		release(ctx, w)
		w.Close()
	}
}

// release empties one connection's page cache and map.
func release(ctx context.Context, c *sql.Conn) {
	for _, q := range []string{"PRAGMA shrink_memory", "PRAGMA mmap_size = 0", fmt.Sprintf("PRAGMA mmap_size = %d", mmapSize)} {
		if _, err := c.ExecContext(ctx, q); err != nil {
			return
		}
	}
}
