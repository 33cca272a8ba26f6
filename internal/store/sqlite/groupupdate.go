package sqlite

import (
	"context"
	"fmt"
	"sync"

	"github.com/tollgate/tollgate/internal/store"
)

// Group commit of configuration writes.
//
// Every Update used to be a transaction of its own, and with synchronous=FULL every commit is an
// fsync: 16 clients creating keys queued on the one writer connection, one fsync each. Now the
// writers that queue while a commit is on disk run together in the next transaction, each in a
// SAVEPOINT of its own: a writer whose fn fails is rolled back to its savepoint alone, the
// others commit, and nobody is answered before the commit that holds its write (the same
// durability). Whoever finds no batch running becomes the leader and runs the queue on its own
// goroutine; the others wait for their result. Each write still sees every write before it, as
// with one writer: they run one after another on the one connection.

// maxUpdateBatch bounds one group commit (and so how long a batch holds the writer).
const maxUpdateBatch = 64

// updateOp is one Update waiting for its group commit.
type updateOp struct {
	ctx    context.Context
	region string
	fn     func(store.Tx) error

	err      error
	panicked any // a panic of fn, raised again on the caller's goroutine
	done     chan struct{}
}

// updateQueue is the Store's queue of writes and the leadership of its group commits.
type updateQueue struct {
	mu      sync.Mutex
	pending []*updateOp
	lead    chan struct{} // one slot: held by the goroutine running a batch
}

func newUpdateQueue() *updateQueue { return &updateQueue{lead: make(chan struct{}, 1)} }

// Update runs fn in a transaction it shares with the writes queued beside it (see above), in a
// savepoint of its own; the commit is durable (synchronous=FULL) before Update returns nil.
// SQLite has a single writer, so fn runs exactly once.
func (s *Store) Update(ctx context.Context, region string, fn func(store.Tx) error) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	op := &updateOp{ctx: ctx, region: region, fn: fn, done: make(chan struct{})}
	q := s.updates
	q.mu.Lock()
	q.pending = append(q.pending, op)
	q.mu.Unlock()
	for {
		select {
		case <-op.done:
			return op.result()
		case q.lead <- struct{}{}:
		}
		// Leader: run batches until this write is done (it is in the first one unless an
		// earlier leader took it already).
		select {
		case <-op.done:
		default:
			s.runBatch()
		}
		<-q.lead
		select {
		case <-op.done:
			return op.result()
		default: // more than a batch was queued ahead of it: lead again
		}
	}
}

func (op *updateOp) result() error {
	if op.panicked != nil {
		panic(op.panicked)
	}
	return op.err
}

// runBatch takes up to maxUpdateBatch queued writes and commits them in one transaction.
func (s *Store) runBatch() {
	q := s.updates
	q.mu.Lock()
	n := min(len(q.pending), maxUpdateBatch)
	batch := append([]*updateOp(nil), q.pending[:n]...)
	// The queue's array outlives its slots: left there, a finished write (and whatever its fn
	// holds, an import's whole state) stayed reachable until later writes overwrote the slot.
	clear(q.pending[:n])
	q.pending = q.pending[n:]
	q.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	defer func() {
		for _, op := range batch {
			close(op.done)
		}
	}()
	// The transaction outlives any one caller's context: a caller that gives up only loses
	// its own write (its statements fail and its savepoint is rolled back).
	ctx := context.Background()
	sqlTx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		for _, op := range batch {
			op.err = fmt.Errorf("sqlite store: begin: %w", err)
		}
		return
	}
	var committed []tailRow
	bulk := false
	// A write alone in its batch needs no savepoint: the transaction is its own, and a failure
	// rolls the transaction back. Inside a savepoint SQLite first copies each page that existed
	// before it to a sub-journal, and a lone write is often the large one: an import into a big
	// store touches most of its index pages.
	alone := len(batch) == 1
	var ok []*updateOp
	for _, op := range batch {
		if err := op.ctx.Err(); err != nil {
			op.err = err
			continue
		}
		if !alone {
			if _, err := sqlTx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
				op.err = fmt.Errorf("sqlite store: savepoint: %w", err)
				continue
			}
		}
		t := newTx(op.ctx, sqlTx, s.writerStmts, s.keys, op.region, true)
		logged, err := s.runOne(op, t)
		if err != nil || op.panicked != nil {
			op.err = err
			t.close()
			if alone {
				sqlTx.Rollback()
				return
			}
			_, rerr := sqlTx.ExecContext(ctx, "ROLLBACK TO w")
			if rerr == nil {
				_, rerr = sqlTx.ExecContext(ctx, "RELEASE w")
			}
			if rerr != nil {
				// The transaction is in an unknown state: abandon the whole batch.
				sqlTx.Rollback()
				for _, o := range batch {
					if o.err == nil && o.panicked == nil {
						o.err = fmt.Errorf("sqlite store: rollback to savepoint: %w", rerr)
					}
				}
				return
			}
			continue
		}
		bulk = bulk || t.Bulk()
		t.close()
		if !alone {
			if _, err := sqlTx.ExecContext(ctx, "RELEASE w"); err != nil {
				sqlTx.Rollback()
				for _, o := range batch {
					if o.err == nil && o.panicked == nil {
						o.err = fmt.Errorf("sqlite store: release savepoint: %w", err)
					}
				}
				return
			}
		}
		committed = append(committed, logged...)
		ok = append(ok, op)
	}
	if err := sqlTx.Commit(); err != nil {
		for _, op := range ok {
			op.err = fmt.Errorf("sqlite store: commit: %w", err)
		}
		return
	}
	if len(committed) > 0 {
		s.tail.add(committed) // before the feed announces them: a sync that sees the sequence finds the rows
		s.feed.Observe(committed[len(committed)-1].seq)
	}
	if bulk {
		// A bulk write (an import) filled the writer's page cache, which lives in SQLite's
		// own allocator, outside the Go heap: give it back rather than keep it for the process's
		// life (about 90 MB of resident memory after a 100,000-key import).
		_, _ = s.writer.ExecContext(ctx, "PRAGMA shrink_memory")
	}
}

// runOne runs one write's fn and logs its changes, catching a panic for its caller.
func (s *Store) runOne(op *updateOp, t *tx) (logged []tailRow, err error) {
	defer func() {
		if p := recover(); p != nil {
			op.panicked = p
		}
	}()
	if err := op.fn(t.Tx); err != nil {
		return nil, err
	}
	return t.finish()
}
