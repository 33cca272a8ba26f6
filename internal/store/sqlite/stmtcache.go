package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// stmtCache keeps statements prepared on a pool across transactions. Preparing is SQLite's
// parse and plan: done per transaction it took an eighth of the server's CPU while 16 clients
// created keys (each a handful of statements, each prepared anew). A transaction binds a cached
// statement with Tx.StmtContext, which reuses what its connection already prepared; the cache
// holds a bounded number of distinct queries, since a few are built per call (a filter, a batch
// size), and those are prepared per transaction as before.
type stmtCache struct {
	db     *sql.DB
	mu     sync.Mutex
	m      map[string]*sql.Stmt
	closed bool
	wg     sync.WaitGroup // background prepares: close waits for them, so none outlives the pool
}

// maxCachedStmts bounds the cache: every fixed query the stores run fits many times over.
const maxCachedStmts = 512

func newStmtCache(db *sql.DB) *stmtCache { return &stmtCache{db: db, m: map[string]*sql.Stmt{}} }

// get returns the pool's statement for query, or nil when it is not prepared yet: the caller
// prepares on its transaction and hands the query to prepare after the transaction, when its
// connection is back in the pool. (Preparing on the pool during the transaction would wait for
// a connection the transaction holds: the writer pool has one.)
func (c *stmtCache) get(query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[query]
}

// prepare prepares queries on the pool in the background, for the transactions after this one.
func (c *stmtCache) prepare(queries []string) {
	if c == nil || len(queries) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.wg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, q := range queries {
			c.mu.Lock()
			_, done := c.m[q]
			full := len(c.m) >= maxCachedStmts
			c.mu.Unlock()
			if done || full {
				continue
			}
			s, err := c.db.PrepareContext(ctx, q)
			if err != nil {
				continue // prepared per transaction, as without the cache
			}
			c.mu.Lock()
			if _, done := c.m[q]; done || c.closed {
				s.Close()
			} else {
				c.m[q] = s
			}
			c.mu.Unlock()
		}
	})
}

// close waits for the background prepares and closes every cached statement (before the pool:
// a prepare still running could otherwise open a connection, and files, after it).
func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.m {
		s.Close()
	}
	clear(c.m)
}
