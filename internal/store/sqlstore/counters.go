package sqlstore

import (
	"time"

	"github.com/tollgate/tollgate/internal/store"
)

// The counter tables (quota_reservations, quota_allowances, usage_days) hold times as Unix
// seconds in both backends. The statements below read the same in both dialects ('?'
// placeholders); the upserts of reservations and usage differ and stay in the backends.
const (
	// QuotaReservedSQL reads a reservation; arguments as in QuotaArgs.
	QuotaReservedSQL = `SELECT reserved FROM quota_reservations
		WHERE region = ? AND plan_id = ? AND key_id = ? AND period_start = ?`
	// SetAllowanceSQL records an allowance override; arguments as in AllowanceArgs.
	SetAllowanceSQL = `INSERT INTO quota_allowances (region, plan_id, period_start, key_id, allowance)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (region, plan_id, period_start, key_id) DO UPDATE SET allowance = excluded.allowance`
	// AllowancesSQL lists a plan's overrides; scan its rows with AllowanceRows.
	AllowancesSQL = `SELECT key_id, period_start, allowance FROM quota_allowances
		WHERE region = ? AND plan_id = ? AND period_start >= ?`
	// UsageSQL lists a plan's daily counts (every key's); scan its rows with UsageRows.
	UsageSQL = `SELECT key_id, day, count FROM usage_days
		WHERE region = ? AND plan_id = ? AND day BETWEEN ? AND ?`
	// UsageOfSQL lists the daily counts of some of a plan's keys (#in: their marks, see
	// InBatches, after UsageArgs); scan its rows with UsageRows. Through usage_days_key it is one
	// short range a key, whatever the number of the plan's keys in use.
	UsageOfSQL = `SELECT key_id, day, count FROM usage_days
		WHERE region = ? AND plan_id = ? AND day BETWEEN ? AND ? AND key_id IN (#in)`
	// UsageEpochSQL reads the last batch a usage journal applied (arguments: journal).
	UsageEpochSQL = `SELECT epoch FROM usage_journals WHERE journal = ?`
	// SetUsageEpochSQL records it (arguments: journal, epoch).
	SetUsageEpochSQL = `INSERT INTO usage_journals (journal, epoch) VALUES (?, ?)
		ON CONFLICT (journal) DO UPDATE SET epoch = excluded.epoch`
)

const secondsPerDay = 86400

// CounterDay returns the Unix seconds of 00:00 UTC of the day containing t.
func CounterDay(t time.Time) int64 {
	s := t.Unix()
	return s - ((s%secondsPerDay)+secondsPerDay)%secondsPerDay
}

// CeilUnix returns t in Unix seconds, rounded up: the first whole second at or after t.
func CeilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// QuotaArgs are the arguments of QuotaReservedSQL (and the key part of the backends'
// reservation statements): region, plan, key, period start.
func QuotaArgs(k store.QuotaKey) []any {
	return []any{k.Region, k.PlanID, k.KeyID, k.PeriodStart.Unix()}
}

// AllowanceArgs are the arguments of SetAllowanceSQL.
func AllowanceArgs(k store.QuotaKey, allowance int64) []any {
	return []any{k.Region, k.PlanID, k.PeriodStart.Unix(), k.KeyID, allowance}
}

// AllowancesArgs are the arguments of AllowancesSQL: overrides of periods starting at or after
// since.
func AllowancesArgs(region, planID string, since time.Time) []any {
	return []any{region, planID, CeilUnix(since)}
}

// UsageArgs are the arguments of UsageSQL, and of UsageOfSQL before its key ids: the UTC days
// from..to.
func UsageArgs(region, planID string, from, to time.Time) []any {
	return []any{region, planID, CounterDay(from), CounterDay(to)}
}

// AllowanceRows collects the rows of AllowancesSQL: scan each into Dest, then call Add.
type AllowanceRows struct {
	Out           map[store.QuotaKey]int64
	region, plan  string
	key           string
	start, amount int64
}

// NewAllowanceRows returns an empty collector for a plan's overrides.
func NewAllowanceRows(region, planID string) *AllowanceRows {
	return &AllowanceRows{Out: map[store.QuotaKey]int64{}, region: region, plan: planID}
}

// Dest is where a row is scanned.
func (r *AllowanceRows) Dest() []any { return []any{&r.key, &r.start, &r.amount} }

// Add records the row last scanned.
func (r *AllowanceRows) Add() error {
	r.Out[store.QuotaKey{Region: r.region, PlanID: r.plan, KeyID: r.key, PeriodStart: time.Unix(r.start, 0).UTC()}] = r.amount
	return nil
}

// UsageRows collects the rows of UsageSQL and UsageOfSQL: scan each into Dest, then call Add.
type UsageRows struct {
	Out    map[string]map[time.Time]int64
	key    string
	day, n int64
}

// NewUsageRows returns an empty collector of per-key, per-day counts.
func NewUsageRows() *UsageRows {
	return &UsageRows{Out: map[string]map[time.Time]int64{}}
}

// Dest is where a row is scanned.
func (r *UsageRows) Dest() []any { return []any{&r.key, &r.day, &r.n} }

// Add records the row last scanned.
func (r *UsageRows) Add() error {
	if r.Out[r.key] == nil {
		r.Out[r.key] = map[time.Time]int64{}
	}
	r.Out[r.key][time.Unix(r.day, 0).UTC()] = r.n
	return nil
}
