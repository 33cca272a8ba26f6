package quota

import (
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
)

// PeriodStart returns the start of the calendar quota period containing t (spec §5.2): DAY at
// 00:00 UTC, WEEK on Sunday 00:00 UTC, MONTH on the 1st at 00:00 UTC. t may be in any location;
// the result is in UTC. An unknown period yields the zero Time.
func PeriodStart(period string, t time.Time) time.Time {
	t = t.UTC()
	y, m, d := t.Date()
	switch period {
	case apigw.PeriodDay:
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	case apigw.PeriodWeek:
		return time.Date(y, m, d-int(t.Weekday()), 0, 0, 0, 0, time.UTC)
	case apigw.PeriodMonth:
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Time{}
}

// PeriodEnd returns the start of the period after the one containing t (zero Time for an
// unknown period).
func PeriodEnd(period string, t time.Time) time.Time {
	s := PeriodStart(period, t)
	switch period {
	case apigw.PeriodDay:
		return s.AddDate(0, 0, 1)
	case apigw.PeriodWeek:
		return s.AddDate(0, 0, 7)
	case apigw.PeriodMonth:
		return s.AddDate(0, 1, 0) // s is the 1st: no end-of-month normalisation can occur
	}
	return time.Time{}
}

// ValidPeriod reports whether period is one of DAY, WEEK, MONTH.
func ValidPeriod(period string) bool {
	return period == apigw.PeriodDay || period == apigw.PeriodWeek || period == apigw.PeriodMonth
}

// Allowance is the number of requests a key may make in the quota period containing
// periodStart, for a quota that took effect at quotaSince. It is the one place the meaning of
// quota.offset lives (spec §5.1, Tollgate decision A1): offset requests are subtracted in the
// initial period — the one containing quotaSince — and every other period gets the full limit.
// A zero quotaSince has no initial period. The result is never negative.
func Allowance(q apigw.Quota, quotaSince, periodStart time.Time) int64 {
	a := q.Limit
	if !quotaSince.IsZero() && PeriodStart(q.Period, quotaSince).Equal(PeriodStart(q.Period, periodStart)) {
		a -= q.Offset
	}
	return max(a, 0)
}

// Policy is everything a Counter needs to know about one key's quota in one plan, as a
// configuration snapshot sees it. Snapshots build Policies once and never modify them: an Entry
// recognises an unchanged policy by its pointer, so the hot path does no period maths. Copy one
// with WithOverride, not by value: the copy must not share the original's period state.
type Policy struct {
	Quota apigw.Quota
	// Since is when the plan's quota took effect (apigw.UsagePlan.QuotaSince).
	Since time.Time
	// OverrideStart and Override carry an UpdateUsage override (store.Counters.SetAllowance):
	// the allowance of the period starting at OverrideStart is Override instead of the
	// computed one. A zero OverrideStart means no override.
	OverrideStart time.Time
	Override      int64

	// cur is the state of the period entries under this policy were last in, shared by all of
	// them (see entryState).
	cur atomic.Pointer[entryState]
}

// WithOverride returns a copy of p whose period starting at start has the allowance n.
func (p *Policy) WithOverride(start time.Time, n int64) *Policy {
	return &Policy{Quota: p.Quota, Since: p.Since, OverrideStart: start, Override: n}
}

// state returns the policy's state of the period starting at start, making it if the period is
// not the last one asked for. Entries that race to make one may keep different but equal
// states: each entry compares only its own states by pointer.
func (p *Policy) state(start time.Time) *entryState {
	sn := start.UnixNano()
	if s := p.cur.Load(); s != nil && s.start == sn {
		return s
	}
	s := &entryState{
		policy:    p,
		period:    p.Quota.Period,
		start:     sn,
		end:       PeriodEnd(p.Quota.Period, start).UnixNano(),
		allowance: p.AllowanceAt(start),
	}
	p.cur.Store(s)
	return s
}

// AllowanceAt returns the allowance of the period starting at periodStart.
func (p *Policy) AllowanceAt(periodStart time.Time) int64 {
	if !p.OverrideStart.IsZero() && p.OverrideStart.Equal(periodStart) {
		return max(p.Override, 0)
	}
	return Allowance(p.Quota, p.Since, periodStart)
}
