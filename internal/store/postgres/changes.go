package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tollgate/tollgate/internal/store"
)

// How a change reaches another node's Changes subscribers:
//
//  1. The writing node's Update commits change rows and a NOTIFY "<schema>:<seq>" atomically.
//  2. Every Store holds one dedicated connection in LISTEN; the notification wakes it, it
//     records seq and wakes its subscribers (one loopback round trip after the commit).
//  3. If that connection breaks, it reconnects with exponential backoff and, once listening
//     again, reads the newest seq: changes made while it was deaf are caught then.
//  4. Independently, a poll reads the newest seq every PollInterval through the pool, so even a
//     listener that is silently stuck delays a change by at most PollInterval.
//
// observe keeps the newest seq and wakes subscribers only when it grows, so the three paths
// (and the writer's own commit) can report the same change without double wake-ups.
//
// The bound: with LISTEN working, another node is woken about one network hop after the COMMIT
// (measured on loopback: the wake-up lands within a few hundred microseconds of the writer's
// COMMIT acknowledgement, see TestPropagation). With LISTEN broken, as long as the database is
// reachable, at most PollInterval plus one query. A listener that stays quiet pings its session
// every ListenCheck, so a silently dead one is replaced instead of leaving only the poll.

// listenTimeout bounds connecting, issuing LISTEN and a liveness ping.
const listenTimeout = 10 * time.Second

// Changes returns the newest change sequence this Store has seen committed (its own commits at
// once, other nodes' as notified or polled) and a channel woken, coalesced, after each newer
// one. The channel is closed when ctx ends or the store closes. It never touches the database,
// so a subscriber can subscribe while PostgreSQL is down.
func (s *Store) Changes(ctx context.Context) (int64, <-chan struct{}, error) {
	return s.feed.Subscribe(ctx)
}

// observe records a committed change sequence and, if it is newer than any seen, wakes the
// subscribers (never blocking: a pending wake-up covers this change too).
func (s *Store) observe(seq int64) { s.feed.Observe(seq) }

// readSeq reads the newest committed change sequence.
func (s *Store) readSeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.pool.QueryRow(ctx, "SELECT COALESCE(MAX(seq), 0) FROM changes").Scan(&seq); err != nil {
		return 0, fmt.Errorf("postgres store: change sequence: %w", err)
	}
	return seq, nil
}

var _ store.ChangeLog = (*Store)(nil)

// changesSinceSQL lists the changes after a sequence with the oldest one kept, in one statement:
// one snapshot, so a prune between two reads cannot make a pruned log look complete.
const changesSinceSQL = `SELECT seq, region, kind, id, (SELECT COALESCE(MIN(seq), 0) FROM changes)
	FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2`

// ChangesSince implements store.ChangeLog. Writers hold the write lock from their first
// statement to their commit, so the sequence is in commit order: a reader that sees seq n has
// seen every change before it, and the incremental sync is as safe here as on SQLite.
func (s *Store) ChangesSince(ctx context.Context, seq int64, max int) ([]store.Change, int64, bool, error) {
	done, err := s.enter()
	if err != nil {
		return nil, 0, false, err
	}
	defer done()
	rows, err := s.pool.Query(ctx, changesSinceSQL, seq, max+1)
	if err != nil {
		return nil, 0, false, fmt.Errorf("postgres store: change log: %w", err)
	}
	var out []store.Change
	last, complete := seq, true
	var c store.Change
	var n, oldest int64
	_, err = pgx.ForEachRow(rows, []any{&n, &c.Region, &c.Kind, &c.ID, &oldest}, func() error {
		if oldest > seq+1 || c.Kind == "*" || len(out) == max {
			complete = false
		}
		out, last = append(out, c), n
		return nil
	})
	if err != nil {
		return nil, 0, false, fmt.Errorf("postgres store: change log: %w", err)
	}
	return out, last, complete, nil
}

// listen opens the dedicated notification connection and subscribes it.
func (s *Store) listen(ctx context.Context) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, listenTimeout)
	defer cancel()
	cfg := s.connCfg.Copy()
	cfg.RuntimeParams["application_name"] = "tollgate-listener"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres store: listen: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{notifyChannel}.Sanitize()); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("postgres store: listen: %w", err)
	}
	s.listenPID.Store(conn.PgConn().PID())
	return conn, nil
}

// listenLoop waits for notifications on conn, reconnecting (with backoff, then catching up with
// a poll) whenever the connection fails, until the store closes.
func (s *Store) listenLoop(conn *pgx.Conn) {
	defer s.bg.Done()
	ctx, cancel := s.untilClosed()
	defer cancel()
	backoff := 50 * time.Millisecond
	for {
		for conn == nil {
			var err error
			if conn, err = s.listen(ctx); err == nil {
				backoff = 50 * time.Millisecond
				s.poll(ctx) // catch up with what was committed while not listening
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, s.opts.ListenBackoffMax)
		}
		wait, cancelWait := context.WithTimeout(ctx, s.opts.ListenCheck)
		n, err := conn.WaitForNotification(wait)
		cancelWait()
		if err != nil {
			if ctx.Err() == nil && pgconn.Timeout(err) && !conn.IsClosed() && s.ping(ctx, conn) == nil {
				s.listenChecks.Add(1)
				continue // quiet, and still connected
			}
			conn.Close(context.Background())
			conn = nil
			if ctx.Err() != nil {
				return
			}
			continue
		}
		if seq, ok := s.parsePayload(n.Payload); ok {
			s.observe(seq)
		}
	}
}

// ping checks that the listening connection still reaches the server.
func (s *Store) ping(ctx context.Context, conn *pgx.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, listenTimeout)
	defer cancel()
	return conn.Ping(ctx)
}

// parsePayload reads "<schema>:<seq>"; notifications of other schemas are not this store's.
func (s *Store) parsePayload(p string) (int64, bool) {
	i := strings.LastIndexByte(p, ':')
	if i < 0 || p[:i] != s.schema {
		return 0, false
	}
	seq, err := strconv.ParseInt(p[i+1:], 10, 64)
	return seq, err == nil
}

// pollLoop is the safety net: it reads the newest sequence every PollInterval.
func (s *Store) pollLoop() {
	defer s.bg.Done()
	ctx, cancel := s.untilClosed()
	defer cancel()
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.poll(ctx)
		}
	}
}

// poll reads the newest sequence once; errors are left to the next poll (the database being
// unreachable is not this loop's to report: the calls that need it fail on their own).
func (s *Store) poll(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.PollInterval)
	defer cancel()
	if seq, err := s.readSeq(ctx); err == nil {
		s.observe(seq)
	}
}
