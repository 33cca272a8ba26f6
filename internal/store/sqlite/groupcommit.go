package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/tollgate/tollgate/internal/store"
)

// Group commit of quota leases.
//
// A key's first request in a period waits for a durable lease (ReserveQuota). SQLite has one
// writer and synchronous=FULL makes every commit an fsync, so one transaction per lease turns a
// burst of new keys into a queue of fsyncs: 10,000 keys took about 4 s with 64 clients, during
// which requests waited tens of milliseconds. Instead, lease writes are handed to one committer
// goroutine that runs everything queued while the previous commit was on disk in one
// transaction: the same durability (nobody is answered before the commit that holds its write)
// at one fsync per batch. Each write is the same atomic upsert as before, applied in arrival
// order, so two leases of one key in one batch still never exceed its allowance.

// maxQuotaBatch bounds one group commit (and so the time the writer is held).
const maxQuotaBatch = 512

// quotaBatchTimeout bounds one group commit, whoever is waiting for it.
const quotaBatchTimeout = 30 * time.Second

// quotaOp is one lease write waiting for its group commit.
type quotaOp struct {
	ctx     context.Context // a caller that gave up before the batch ran is skipped
	k       store.QuotaKey
	n       int64 // reserve: want; release: n
	limit   int64
	release bool

	granted, total int64
	err            error
	done           chan struct{} // closed when the results are set
}

// startCommitter starts the group-commit goroutine; stopCommitter ends it once no caller can
// still be waiting (after the gate has closed).
func (s *Store) startCommitter() {
	s.quotaOps = make(chan *quotaOp, maxQuotaBatch)
	s.commitStop = make(chan struct{})
	s.commitDone = make(chan struct{})
	go s.commitLoop()
}

func (s *Store) stopCommitter() {
	if s.commitStop == nil {
		return // Open failed before starting it
	}
	close(s.commitStop)
	<-s.commitDone
}

// quotaWrite queues op for the next group commit and waits for it. A caller whose context ends
// first returns its error; the write then either never runs or stands unseen, which for a lease
// only strands it (under-admission, the safe direction).
func (s *Store) quotaWrite(ctx context.Context, op *quotaOp) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	op.ctx, op.done = ctx, make(chan struct{})
	select {
	case s.quotaOps <- op:
		s.quotaQueued.Add(1)
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-op.done:
		return op.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) commitLoop() {
	defer close(s.commitDone)
	batch := make([]*quotaOp, 0, maxQuotaBatch)
	for {
		batch = batch[:0]
		select {
		case op := <-s.quotaOps:
			batch = append(batch, op)
		case <-s.commitStop:
			return
		}
	drain:
		for len(batch) < maxQuotaBatch {
			select {
			case op := <-s.quotaOps:
				batch = append(batch, op)
			default:
				break drain
			}
		}
		s.commitQuota(batch)
		for _, op := range batch {
			close(op.done)
		}
	}
}

// commitQuota applies a batch in one transaction; any failure fails every write of it.
func (s *Store) commitQuota(batch []*quotaOp) {
	live := batch[:0:0]
	for _, op := range batch {
		if err := op.ctx.Err(); err != nil {
			op.err = err
			continue
		}
		live = append(live, op)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), quotaBatchTimeout)
	defer cancel()
	s.quotaCommits.Add(1)
	if err := s.applyQuota(ctx, live); err != nil {
		for _, op := range live {
			what := "reserve quota"
			if op.release {
				what = "release quota"
			}
			op.err = fmt.Errorf("sqlite store: %s: %w", what, err)
		}
	}
}

// reserveSQL grants min(want, limit - reserved), never below 0: all SET clauses read the row as
// it was, so the grant and the new total are computed and returned atomically.
const reserveSQL = `INSERT INTO quota_reservations (region, plan_id, key_id, period_start, reserved, last_grant)
	VALUES (?1, ?2, ?3, ?4, min(?5, ?6), min(?5, ?6))
	ON CONFLICT (region, plan_id, key_id, period_start) DO UPDATE SET
		reserved   = reserved + max(0, min(?5, ?6 - reserved)),
		last_grant = max(0, min(?5, ?6 - reserved))
	RETURNING last_grant, reserved`

// releaseSQL gives back n; the reservation never drops below 0.
const releaseSQL = `UPDATE quota_reservations SET reserved = max(reserved - ?5, 0)
	WHERE region = ?1 AND plan_id = ?2 AND key_id = ?3 AND period_start = ?4`

func (s *Store) applyQuota(ctx context.Context, ops []*quotaOp) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, op := range ops {
		args := []any{op.k.Region, op.k.PlanID, op.k.KeyID, op.k.PeriodStart.Unix(), op.n}
		if op.release {
			_, err = tx.ExecContext(ctx, releaseSQL, args...)
		} else {
			err = tx.QueryRowContext(ctx, reserveSQL, append(args, max(op.limit, 0))...).Scan(&op.granted, &op.total)
		}
		if err != nil {
			return err
		}
	}
	return tx.Commit()
}
