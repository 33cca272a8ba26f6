package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate/tollgate/internal/store"
	"github.com/tollgate/tollgate/internal/store/sqlstore"
)

// This file implements store.Counters on the SQLite store (tables in migrations/0002_counters.sql).
// Writes go through the single writer connection like Update does, so they queue behind
// configuration writes instead of failing with SQLITE_BUSY, and synchronous=FULL makes each one
// durable before it returns. They do not touch the change log: counters are not configuration.

var _ store.Counters = (*Store)(nil)

// ReserveQuota implements store.Counters. The upsert runs in the next group commit (see
// groupcommit.go), durable before this returns.
func (s *Store) ReserveQuota(ctx context.Context, k store.QuotaKey, want, limit int64) (granted, total int64, err error) {
	if want <= 0 {
		total, err = s.QuotaReserved(ctx, k)
		return 0, total, err
	}
	op := &quotaOp{k: k, n: want, limit: limit}
	if err := s.quotaWrite(ctx, op); err != nil {
		return 0, 0, err
	}
	return op.granted, op.total, nil
}

// ReleaseQuota implements store.Counters, in the next group commit; the reservation never drops
// below 0.
func (s *Store) ReleaseQuota(ctx context.Context, k store.QuotaKey, n int64) error {
	if n <= 0 {
		return nil
	}
	return s.quotaWrite(ctx, &quotaOp{k: k, n: n, release: true})
}

// QuotaReserved implements store.Counters.
func (s *Store) QuotaReserved(ctx context.Context, k store.QuotaKey) (int64, error) {
	n, _, err := s.keyInt(ctx, "quota reserved", sqlstore.QuotaReservedSQL, k)
	return n, err
}

// keyInt reads the one integer query selects for k (its arguments are QuotaArgs); ok is false
// when there is no row.
func (s *Store) keyInt(ctx context.Context, what, query string, k store.QuotaKey) (n int64, ok bool, err error) {
	done, err := s.enter()
	if err != nil {
		return 0, false, err
	}
	defer done()
	err = s.reader.QueryRowContext(ctx, query, sqlstore.QuotaArgs(k)...).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("sqlite store: %s: %w", what, err)
	}
	return n, true, nil
}

// SetAllowance implements store.Counters.
func (s *Store) SetAllowance(ctx context.Context, k store.QuotaKey, allowance int64) error {
	return s.counterExec(ctx, "set allowance", sqlstore.SetAllowanceSQL, sqlstore.AllowanceArgs(k, allowance)...)
}

// Allowances implements store.Counters.
func (s *Store) Allowances(ctx context.Context, region, planID string, since time.Time) (map[store.QuotaKey]int64, error) {
	done, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	r := sqlstore.NewAllowanceRows(region, planID)
	if err := s.readEach(ctx, r.Dest(), r.Add, sqlstore.AllowancesSQL, sqlstore.AllowancesArgs(region, planID, since)...); err != nil {
		return nil, fmt.Errorf("sqlite store: allowances: %w", err)
	}
	return r.Out, nil
}

// AddUsage implements store.Counters: all deltas in one transaction.
func (s *Store) AddUsage(ctx context.Context, deltas []store.UsageDelta) error {
	if len(deltas) == 0 {
		return nil
	}
	return s.usageTx(ctx, "add usage", func(tx *sql.Tx) error { return addUsage(ctx, tx, deltas) })
}

// CommitUsage implements store.Counters: the deltas and the journal's epoch in one transaction,
// skipped whole when the journal has already applied epoch.
func (s *Store) CommitUsage(ctx context.Context, journal string, epoch uint64, deltas []store.UsageDelta) error {
	return s.usageTx(ctx, "commit usage", func(tx *sql.Tx) error {
		var applied uint64
		err := tx.QueryRowContext(ctx, sqlstore.UsageEpochSQL, journal).Scan(&applied)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err == nil && applied >= epoch {
			return nil
		}
		if err := addUsage(ctx, tx, deltas); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, sqlstore.SetUsageEpochSQL, journal, epoch)
		return err
	})
}

// UsageEpoch implements store.Counters.
func (s *Store) UsageEpoch(ctx context.Context, journal string) (uint64, error) {
	done, err := s.enter()
	if err != nil {
		return 0, err
	}
	defer done()
	var epoch uint64
	err = s.reader.QueryRowContext(ctx, sqlstore.UsageEpochSQL, journal).Scan(&epoch)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite store: usage epoch: %w", err)
	}
	return epoch, nil
}

// usageTx runs fn in a transaction on the writer connection and commits it.
func (s *Store) usageTx(ctx context.Context, what string, fn func(*sql.Tx) error) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite store: %s: %w", what, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return fmt.Errorf("sqlite store: %s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite store: %s: %w", what, err)
	}
	return nil
}

// addUsage upserts deltas in tx. Rows go in statements of up to usageBatch rows: one statement
// per row spent most of a flush in database/sql and the driver rather than in SQLite.
func addUsage(ctx context.Context, tx *sql.Tx, deltas []store.UsageDelta) error {
	// A statement per plan and day and up to usageBatch keys, the keys and counts one JSON text:
	// with a parameter per column, database/sql and the driver allocated for each (an interface,
	// a NamedValue, a binding), 4.8 MB a flush of 10,000 keys, which under load was most of what
	// the process allocated.
	type group struct {
		region, planID string
		day            int64
	}
	type batch struct {
		group
		rows int
		buf  []byte
	}
	var batches []*batch // in the order their groups first appear
	exec := func(b *batch) error {
		if b.rows == 0 {
			return nil
		}
		b.buf = append(b.buf, ']')
		// as text: SQLite reads a blob given to json_each as its binary JSONB
		_, err := tx.ExecContext(ctx, addUsageSQL, b.region, b.planID, b.day, string(b.buf))
		b.rows, b.buf = 0, b.buf[:0]
		return err
	}
	var last *batch
	for _, d := range deltas {
		if d.Count == 0 {
			continue
		}
		g := group{d.Region, d.PlanID, sqlstore.CounterDay(d.Day)}
		if last == nil || last.group != g {
			last = nil
			for _, b := range batches {
				if b.group == g {
					last = b
					break
				}
			}
			if last == nil {
				last = &batch{group: g, buf: make([]byte, 0, 32*min(usageBatch, len(deltas)))}
				batches = append(batches, last)
			}
		}
		if last.rows == 0 {
			last.buf = append(last.buf, '[')
		} else {
			last.buf = append(last.buf, ',')
		}
		last.buf = append(last.buf, '[')
		last.buf = appendJSONString(last.buf, d.KeyID)
		last.buf = append(last.buf, ',')
		last.buf = strconv.AppendInt(last.buf, d.Count, 10)
		last.buf = append(last.buf, ']')
		if last.rows++; last.rows == usageBatch {
			if err := exec(last); err != nil {
				return err
			}
		}
	}
	for _, b := range batches {
		if err := exec(b); err != nil {
			return err
		}
	}
	return nil
}

// usageBatch is the most keys one AddUsage statement upserts.
const usageBatch = 500

// addUsageSQL upserts the usage of one plan and day: ?4 is a JSON array of [key, count] pairs.
// Pairs repeating a key add up: the upsert applies them one after another. (WHERE true tells
// the parser that ON CONFLICT is the upsert's, not a join's.)
const addUsageSQL = `INSERT INTO usage_days (region, plan_id, day, key_id, count)
SELECT ?1, ?2, ?3, value ->> 0, value ->> 1 FROM json_each(?4) WHERE true
ON CONFLICT (region, plan_id, day, key_id) DO UPDATE SET count = count + excluded.count`

// appendJSONString appends s as a JSON string. Key ids are plain ASCII (Tollgate makes them); a
// string with anything else (quotes, backslashes, control characters, non-ASCII) goes through
// encoding/json.
func appendJSONString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			q, _ := json.Marshal(s)
			return append(buf, q...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}

// usageOfSQL is UsageOfSQL through the key index: without statistics SQLite prefers the primary
// key's range of days (every key's rows of the range, a million a day on a large plan) to a
// short range a key (TestBatchedReadsLookUp).
var usageOfSQL = strings.Replace(sqlstore.UsageOfSQL, "FROM usage_days", "FROM usage_days INDEXED BY usage_days_key", 1)

// Usage implements store.Counters.
func (s *Store) Usage(ctx context.Context, region, planID string, keyIDs []string, from, to time.Time) (map[string]map[time.Time]int64, error) {
	done, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	r := sqlstore.NewUsageRows()
	args := sqlstore.UsageArgs(region, planID, from, to)
	if keyIDs == nil {
		err = s.readEach(ctx, r.Dest(), r.Add, sqlstore.UsageSQL, args...)
	} else {
		err = sqlstore.InBatches(sqlstore.SortedIDs(keyIDs), args, func(marks string, args []any) error {
			return s.readEach(ctx, r.Dest(), r.Add, sqlstore.InList(usageOfSQL, marks), args...)
		})
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite store: usage: %w", err)
	}
	return r.Out, nil
}

// readEach runs a read on the reader pool, scanning each row into dest and calling each.
func (s *Store) readEach(ctx context.Context, dest []any, each func() error, query string, args ...any) error {
	rows, err := s.reader.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	return scanEach(rows, dest, each)
}

// counterExec runs one autocommit write on the writer connection (durable when it returns).
func (s *Store) counterExec(ctx context.Context, what, query string, args ...any) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	if _, err := s.writer.ExecContext(ctx, query, args...); err != nil {
		return fmt.Errorf("sqlite store: %s: %w", what, err)
	}
	return nil
}
