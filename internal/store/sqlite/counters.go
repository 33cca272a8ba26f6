package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

// Allowance implements store.Counters.
func (s *Store) Allowance(ctx context.Context, k store.QuotaKey) (int64, bool, error) {
	return s.keyInt(ctx, "allowance", sqlstore.AllowanceSQL, k)
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
	args := make([]any, 0, 5*min(usageBatch, len(deltas)))
	exec := func() error {
		if len(args) == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, addUsageSQL(len(args)/5), args...)
		args = args[:0]
		return err
	}
	for _, d := range deltas {
		if d.Count == 0 {
			continue
		}
		args = append(args, d.Region, d.PlanID, sqlstore.CounterDay(d.Day), d.KeyID, d.Count)
		if len(args) == 5*usageBatch {
			if err := exec(); err != nil {
				return err
			}
		}
	}
	return exec()
}

// usageBatch is the rows of one AddUsage statement (5 parameters each, far below SQLite's limit).
const usageBatch = 200

// addUsageSQL is the upsert of n usage rows. Rows repeating a day and key add up: the upsert
// applies them one after another.
func addUsageSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO usage_days (region, plan_id, day, key_id, count) VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?, ?)")
	}
	b.WriteString(" ON CONFLICT (region, plan_id, day, key_id) DO UPDATE SET count = count + excluded.count")
	return b.String()
}

// Usage implements store.Counters.
func (s *Store) Usage(ctx context.Context, region, planID string, from, to time.Time) (map[string]map[time.Time]int64, error) {
	done, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	r := sqlstore.NewUsageRows()
	if err := s.readEach(ctx, r.Dest(), r.Add, sqlstore.UsageSQL, sqlstore.UsageArgs(region, planID, from, to)...); err != nil {
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
