package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tollgate/tollgate/internal/store"
)

// This file implements store.Counters on the SQLite store (tables in migrations/0002_counters.sql).
// Writes go through the single writer connection like Update does, so they queue behind
// configuration writes instead of failing with SQLITE_BUSY, and synchronous=FULL makes each one
// durable before it returns. They do not touch the change log: counters are not configuration.

var _ store.Counters = (*Store)(nil)

const secondsPerDay = 86400

// counterDay returns the Unix seconds of 00:00 UTC of the day containing t.
func counterDay(t time.Time) int64 {
	s := t.Unix()
	return s - ((s%secondsPerDay)+secondsPerDay)%secondsPerDay
}

// ceilUnix returns t in Unix seconds, rounded up: the first whole second at or after t.
func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// ReserveQuota implements store.Counters with one upsert whose SET clauses all read the row as it
// was, so the grant and the new total are computed and returned atomically.
func (s *Store) ReserveQuota(ctx context.Context, k store.QuotaKey, want, limit int64) (granted, total int64, err error) {
	if want <= 0 {
		total, err = s.QuotaReserved(ctx, k)
		return 0, total, err
	}
	done, err := s.enter()
	if err != nil {
		return 0, 0, err
	}
	defer done()
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite store: reserve quota: %w", err)
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, `INSERT INTO quota_reservations (region, plan_id, key_id, period_start, reserved, last_grant)
		VALUES (?1, ?2, ?3, ?4, min(?5, ?6), min(?5, ?6))
		ON CONFLICT (region, plan_id, key_id, period_start) DO UPDATE SET
			reserved   = reserved + max(0, min(?5, ?6 - reserved)),
			last_grant = max(0, min(?5, ?6 - reserved))
		RETURNING last_grant, reserved`,
		k.Region, k.PlanID, k.KeyID, k.PeriodStart.Unix(), want, max(limit, 0)).Scan(&granted, &total)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite store: reserve quota: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("sqlite store: reserve quota: %w", err)
	}
	return granted, total, nil
}

// ReleaseQuota implements store.Counters; the reservation never drops below 0.
func (s *Store) ReleaseQuota(ctx context.Context, k store.QuotaKey, n int64) error {
	if n <= 0 {
		return nil
	}
	return s.counterExec(ctx, "release quota", `UPDATE quota_reservations SET reserved = max(reserved - ?5, 0)
		WHERE region = ?1 AND plan_id = ?2 AND key_id = ?3 AND period_start = ?4`,
		k.Region, k.PlanID, k.KeyID, k.PeriodStart.Unix(), n)
}

// QuotaReserved implements store.Counters.
func (s *Store) QuotaReserved(ctx context.Context, k store.QuotaKey) (int64, error) {
	done, err := s.enter()
	if err != nil {
		return 0, err
	}
	defer done()
	var n int64
	err = s.reader.QueryRowContext(ctx, `SELECT reserved FROM quota_reservations
		WHERE region = ? AND plan_id = ? AND key_id = ? AND period_start = ?`,
		k.Region, k.PlanID, k.KeyID, k.PeriodStart.Unix()).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite store: quota reserved: %w", err)
	}
	return n, nil
}

// SetAllowance implements store.Counters.
func (s *Store) SetAllowance(ctx context.Context, k store.QuotaKey, allowance int64) error {
	return s.counterExec(ctx, "set allowance", `INSERT INTO quota_allowances (region, plan_id, period_start, key_id, allowance)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (region, plan_id, period_start, key_id) DO UPDATE SET allowance = excluded.allowance`,
		k.Region, k.PlanID, k.PeriodStart.Unix(), k.KeyID, allowance)
}

// Allowances implements store.Counters.
func (s *Store) Allowances(ctx context.Context, region, planID string, since time.Time) (map[store.QuotaKey]int64, error) {
	done, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	rows, err := s.reader.QueryContext(ctx, `SELECT key_id, period_start, allowance FROM quota_allowances
		WHERE region = ? AND plan_id = ? AND period_start >= ?`, region, planID, ceilUnix(since))
	if err != nil {
		return nil, fmt.Errorf("sqlite store: allowances: %w", err)
	}
	defer rows.Close()
	out := map[store.QuotaKey]int64{}
	for rows.Next() {
		var key string
		var start, a int64
		if err := rows.Scan(&key, &start, &a); err != nil {
			return nil, fmt.Errorf("sqlite store: allowances: %w", err)
		}
		out[store.QuotaKey{Region: region, PlanID: planID, KeyID: key, PeriodStart: time.Unix(start, 0).UTC()}] = a
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite store: allowances: %w", err)
	}
	return out, nil
}

// AddUsage implements store.Counters: all deltas in one transaction.
func (s *Store) AddUsage(ctx context.Context, deltas []store.UsageDelta) error {
	if len(deltas) == 0 {
		return nil
	}
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite store: add usage: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO usage_days (region, plan_id, day, key_id, count)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (region, plan_id, day, key_id) DO UPDATE SET count = count + excluded.count`)
	if err != nil {
		return fmt.Errorf("sqlite store: add usage: %w", err)
	}
	defer stmt.Close()
	for _, d := range deltas {
		if d.Count == 0 {
			continue
		}
		if _, err := stmt.ExecContext(ctx, d.Region, d.PlanID, counterDay(d.Day), d.KeyID, d.Count); err != nil {
			return fmt.Errorf("sqlite store: add usage: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite store: add usage: %w", err)
	}
	return nil
}

// Usage implements store.Counters.
func (s *Store) Usage(ctx context.Context, region, planID string, from, to time.Time) (map[string]map[time.Time]int64, error) {
	done, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	rows, err := s.reader.QueryContext(ctx, `SELECT key_id, day, count FROM usage_days
		WHERE region = ? AND plan_id = ? AND day BETWEEN ? AND ?`, region, planID, counterDay(from), counterDay(to))
	if err != nil {
		return nil, fmt.Errorf("sqlite store: usage: %w", err)
	}
	defer rows.Close()
	out := map[string]map[time.Time]int64{}
	for rows.Next() {
		var key string
		var day, n int64
		if err := rows.Scan(&key, &day, &n); err != nil {
			return nil, fmt.Errorf("sqlite store: usage: %w", err)
		}
		if out[key] == nil {
			out[key] = map[time.Time]int64{}
		}
		out[key][time.Unix(day, 0).UTC()] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite store: usage: %w", err)
	}
	return out, nil
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
