package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate/tollgate/internal/store"
	"github.com/tollgate/tollgate/internal/store/sqlstore"
)

// This file implements store.Counters (tables in migrations/0002_counters.sql). Every write is
// one autocommit statement, durable when it returns (synchronous_commit is on for the pool's
// sessions), and none takes the configuration write lock: row locks taken by the statement
// itself are all the atomicity they need. They do not touch the change log: counters are not
// configuration.

// The counter statements both backends spell alike, in PostgreSQL's numbered placeholders.
var (
	quotaReservedSQL = sqlstore.Numbered(sqlstore.QuotaReservedSQL)
	setAllowanceSQL  = sqlstore.Numbered(sqlstore.SetAllowanceSQL)
	allowancesSQL    = sqlstore.Numbered(sqlstore.AllowancesSQL)
	usageSQL         = sqlstore.Numbered(sqlstore.UsageSQL)
	usageEpochSQL    = sqlstore.Numbered(sqlstore.UsageEpochSQL)
)

// reserveSQL grants min(want, limit - reserved), never below 0, in one upsert. Under concurrent
// calls ON CONFLICT DO UPDATE locks the row and evaluates the SET clauses against its newest
// committed version, so grants from all nodes sum to at most the limit. All SET expressions read
// the old row, which is why last_grant can be computed next to reserved and returned with it.
const reserveSQL = `INSERT INTO quota_reservations AS q (region, plan_id, key_id, period_start, reserved, last_grant)
	VALUES ($1, $2, $3, $4, LEAST($5::bigint, $6::bigint), LEAST($5::bigint, $6::bigint))
	ON CONFLICT (region, plan_id, key_id, period_start) DO UPDATE SET
		reserved   = q.reserved + GREATEST(0, LEAST($5::bigint, $6::bigint - q.reserved)),
		last_grant = GREATEST(0, LEAST($5::bigint, $6::bigint - q.reserved))
	RETURNING last_grant, reserved`

// ReserveQuota implements store.Counters.
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
	err = retry(ctx, func() error {
		return s.pool.QueryRow(ctx, reserveSQL, k.Region, k.PlanID, k.KeyID, k.PeriodStart.Unix(), want, max(limit, 0)).
			Scan(&granted, &total)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("postgres store: reserve quota: %w", err)
	}
	return granted, total, nil
}

// ReleaseQuota implements store.Counters; the reservation never drops below 0.
func (s *Store) ReleaseQuota(ctx context.Context, k store.QuotaKey, n int64) error {
	if n <= 0 {
		return nil
	}
	return s.counterExec(ctx, "release quota", `UPDATE quota_reservations SET reserved = GREATEST(reserved - $5, 0)
		WHERE region = $1 AND plan_id = $2 AND key_id = $3 AND period_start = $4`,
		k.Region, k.PlanID, k.KeyID, k.PeriodStart.Unix(), n)
}

// QuotaReserved implements store.Counters.
func (s *Store) QuotaReserved(ctx context.Context, k store.QuotaKey) (int64, error) {
	n, _, err := s.keyInt(ctx, "quota reserved", quotaReservedSQL, k)
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
	err = s.pool.QueryRow(ctx, query, sqlstore.QuotaArgs(k)...).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("postgres store: %s: %w", what, err)
	}
	return n, true, nil
}

// SetAllowance implements store.Counters.
func (s *Store) SetAllowance(ctx context.Context, k store.QuotaKey, allowance int64) error {
	return s.counterExec(ctx, "set allowance", setAllowanceSQL, sqlstore.AllowanceArgs(k, allowance)...)
}

// Allowances implements store.Counters.
func (s *Store) Allowances(ctx context.Context, region, planID string, since time.Time) (map[store.QuotaKey]int64, error) {
	done, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	rows, err := s.pool.Query(ctx, allowancesSQL, sqlstore.AllowancesArgs(region, planID, since)...)
	if err != nil {
		return nil, fmt.Errorf("postgres store: allowances: %w", err)
	}
	r := sqlstore.NewAllowanceRows(region, planID)
	if _, err := pgx.ForEachRow(rows, r.Dest(), r.Add); err != nil {
		return nil, fmt.Errorf("postgres store: allowances: %w", err)
	}
	return r.Out, nil
}

// usageRow is one aggregated usage_days increment.
type usageRow struct {
	region, plan, key string
	day, count        int64
}

// addUsageSQL adds every row of the batch in one statement. Rows arrive merged (one statement
// may not update a row twice) and sorted, so concurrent batches lock shared rows in the same
// order and cannot deadlock each other.
const addUsageSQL = `INSERT INTO usage_days (region, plan_id, day, key_id, count)
	SELECT r, p, d, k, c FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[]) WITH ORDINALITY AS u(r, p, d, k, c, o)
	ORDER BY o
	ON CONFLICT (region, plan_id, day, key_id) DO UPDATE SET count = usage_days.count + excluded.count`

// AddUsage implements store.Counters: all deltas in one statement, hence one transaction.
func (s *Store) AddUsage(ctx context.Context, deltas []store.UsageDelta) error {
	args, ok := usageArgs(deltas)
	if !ok {
		return nil
	}
	return s.counterExec(ctx, "add usage", addUsageSQL, args...)
}

// advanceEpochSQL moves a journal's epoch forward and returns it, or returns no row when the
// journal has already applied that epoch (the batch is then skipped). The upsert locks the row
// until the transaction ends, so a batch sent twice at once is applied once.
const advanceEpochSQL = `INSERT INTO usage_journals AS j (journal, epoch) VALUES ($1, $2)
	ON CONFLICT (journal) DO UPDATE SET epoch = excluded.epoch WHERE j.epoch < excluded.epoch
	RETURNING epoch`

// CommitUsage implements store.Counters: the journal's epoch and the deltas in one transaction.
func (s *Store) CommitUsage(ctx context.Context, journal string, epoch uint64, deltas []store.UsageDelta) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	args, hasRows := usageArgs(deltas)
	err = retry(ctx, func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var got int64
			if err := tx.QueryRow(ctx, advanceEpochSQL, journal, int64(epoch)).Scan(&got); errors.Is(err, pgx.ErrNoRows) {
				return nil // applied before
			} else if err != nil {
				return err
			}
			if !hasRows {
				return nil
			}
			_, err := tx.Exec(ctx, addUsageSQL, args...)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("postgres store: commit usage: %w", err)
	}
	return nil
}

// UsageEpoch implements store.Counters.
func (s *Store) UsageEpoch(ctx context.Context, journal string) (uint64, error) {
	done, err := s.enter()
	if err != nil {
		return 0, err
	}
	defer done()
	var epoch int64
	err = s.pool.QueryRow(ctx, usageEpochSQL, journal).Scan(&epoch)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("postgres store: usage epoch: %w", err)
	}
	return uint64(epoch), nil
}

// usageArgs merges deltas into the arguments of addUsageSQL (false when no row has a count).
func usageArgs(deltas []store.UsageDelta) ([]any, bool) {
	merged := map[usageRow]int64{}
	for _, d := range deltas {
		if d.Count != 0 {
			merged[usageRow{region: d.Region, plan: d.PlanID, key: d.KeyID, day: sqlstore.CounterDay(d.Day)}] += d.Count
		}
	}
	if len(merged) == 0 {
		return nil, false
	}
	rows := make([]usageRow, 0, len(merged))
	for r, n := range merged {
		r.count = n
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(a, b usageRow) int {
		return cmp.Or(strings.Compare(a.region, b.region), strings.Compare(a.plan, b.plan),
			cmp.Compare(a.day, b.day), strings.Compare(a.key, b.key))
	})
	regions, plans, keys := make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows))
	days, counts := make([]int64, len(rows)), make([]int64, len(rows))
	for i, r := range rows {
		regions[i], plans[i], days[i], keys[i], counts[i] = r.region, r.plan, r.day, r.key, r.count
	}
	return []any{regions, plans, days, keys, counts}, true
}

// usageOfSQL reads the usage of the keys in $5 (an array) one key at a time: each lateral
// subquery is a short range of usage_days_key. The plain form (UsageOfSQL, key_id IN a list)
// left the choice to the planner, which, before the table's first ANALYZE (usage rows come from
// flushes, not bulk writes, so nothing asks for one), scanned the primary key's range of days:
// every key's rows of the range, with their dead versions, 1.7 s a page at 100,000 keys in use.
// OFFSET 0 keeps the subquery from being flattened into a hash join that reads the same range.
const usageOfSQL = `SELECT u.key_id, u.day, u.count FROM unnest($5::text[]) AS k(id)
	CROSS JOIN LATERAL (SELECT key_id, day, count FROM usage_days
		WHERE region = $1 AND plan_id = $2 AND key_id = k.id AND day BETWEEN $3 AND $4 OFFSET 0) u`

// Usage implements store.Counters.
func (s *Store) Usage(ctx context.Context, region, planID string, keyIDs []string, from, to time.Time) (map[string]map[time.Time]int64, error) {
	done, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	r := sqlstore.NewUsageRows()
	read := func(query string, args []any) error {
		rows, err := s.pool.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		_, err = pgx.ForEachRow(rows, r.Dest(), r.Add)
		return err
	}
	args := sqlstore.UsageArgs(region, planID, from, to)
	if keyIDs == nil {
		err = read(usageSQL, args)
	} else {
		err = read(usageOfSQL, append(args, sqlstore.SortedIDs(keyIDs)))
	}
	if err != nil {
		return nil, fmt.Errorf("postgres store: usage: %w", err)
	}
	return r.Out, nil
}

// counterExec runs one autocommit write (durable when it returns), retried on deadlock.
func (s *Store) counterExec(ctx context.Context, what, query string, args ...any) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	err = retry(ctx, func() error {
		_, err := s.pool.Exec(ctx, query, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres store: %s: %w", what, err)
	}
	return nil
}
