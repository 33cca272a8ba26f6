package quota_test

import (
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/quota"
)

func date(y int, m time.Month, d, h, min, s, ns int) time.Time {
	return time.Date(y, m, d, h, min, s, ns, time.UTC)
}

func day(y int, m time.Month, d int) time.Time { return date(y, m, d, 0, 0, 0, 0) }

func TestPeriodStartAndEnd(t *testing.T) {
	const D, W, M = apigw.PeriodDay, apigw.PeriodWeek, apigw.PeriodMonth
	east14, west10 := time.FixedZone("UTC+14", 14*3600), time.FixedZone("UTC-10", -10*3600)
	for _, tc := range []struct {
		what       string
		period     string
		t          time.Time
		start, end time.Time
	}{
		{"day, noon", D, date(2026, 9, 13, 12, 0, 0, 0), day(2026, 9, 13), day(2026, 9, 14)},
		{"day, its first instant", D, day(2026, 9, 13), day(2026, 9, 13), day(2026, 9, 14)},
		{"day, its last instant", D, date(2026, 9, 13, 23, 59, 59, 999999999), day(2026, 9, 13), day(2026, 9, 14)},
		{"day, leap day", D, date(2028, 2, 29, 10, 0, 0, 0), day(2028, 2, 29), day(2028, 3, 1)},
		{"day, year end", D, date(2026, 12, 31, 23, 59, 0, 0), day(2026, 12, 31), day(2027, 1, 1)},
		{"day, local time ahead of UTC", D, time.Date(2026, 9, 14, 1, 0, 0, 0, east14), day(2026, 9, 13), day(2026, 9, 14)},
		{"day, local time behind UTC", D, time.Date(2026, 9, 12, 20, 0, 0, 0, west10), day(2026, 9, 13), day(2026, 9, 14)},
		{"week, Sunday 00:00", W, day(2026, 9, 13), day(2026, 9, 13), day(2026, 9, 20)},
		{"week, Saturday 23:59:59", W, date(2026, 9, 19, 23, 59, 59, 999999999), day(2026, 9, 13), day(2026, 9, 20)},
		{"week, across the leap day", W, day(2028, 2, 29), day(2028, 2, 27), day(2028, 3, 5)},
		{"week, across the year end", W, day(2027, 1, 1), day(2026, 12, 27), day(2027, 1, 3)},
		{"week, starting on 29 December", W, day(2025, 1, 1), day(2024, 12, 29), day(2025, 1, 5)},
		{"month, 31st at its last second", M, date(2026, 1, 31, 23, 59, 59, 0), day(2026, 1, 1), day(2026, 2, 1)},
		{"month, the 1st", M, day(2026, 2, 1), day(2026, 2, 1), day(2026, 3, 1)},
		{"month, leap February", M, day(2028, 2, 29), day(2028, 2, 1), day(2028, 3, 1)},
		{"month, March 31 (no normalisation)", M, day(2026, 3, 31), day(2026, 3, 1), day(2026, 4, 1)},
		{"month, December", M, day(2026, 12, 31), day(2026, 12, 1), day(2027, 1, 1)},
		{"unknown period", "YEAR", day(2026, 9, 13), time.Time{}, time.Time{}},
	} {
		if got := quota.PeriodStart(tc.period, tc.t); !got.Equal(tc.start) || got.Location() != time.UTC {
			t.Errorf("%s: PeriodStart(%s, %v) = %v, want %v UTC", tc.what, tc.period, tc.t, got, tc.start)
		}
		if got := quota.PeriodEnd(tc.period, tc.t); !got.Equal(tc.end) {
			t.Errorf("%s: PeriodEnd(%s, %v) = %v, want %v", tc.what, tc.period, tc.t, got, tc.end)
		}
	}
}

func TestAllowance(t *testing.T) {
	month := apigw.Quota{Limit: 1000, Offset: 100, Period: apigw.PeriodMonth}
	since := date(2026, 9, 13, 12, 0, 0, 0)
	for _, tc := range []struct {
		what        string
		q           apigw.Quota
		since       time.Time
		periodStart time.Time
		want        int64
	}{
		{"initial month", month, since, day(2026, 9, 1), 900},
		{"any instant of the initial month", month, since, date(2026, 9, 30, 23, 59, 59, 0), 900},
		{"the month after", month, since, day(2026, 10, 1), 1000},
		{"the month before", month, since, day(2026, 8, 1), 1000},
		{"same month a year later", month, since, day(2027, 9, 1), 1000},
		{"no start known", month, time.Time{}, day(2026, 9, 1), 1000},
		{"week: since Saturday night, that week", apigw.Quota{Limit: 50, Offset: 20, Period: apigw.PeriodWeek}, date(2026, 9, 19, 23, 0, 0, 0), day(2026, 9, 13), 30},
		{"week: the Sunday after", apigw.Quota{Limit: 50, Offset: 20, Period: apigw.PeriodWeek}, date(2026, 9, 19, 23, 0, 0, 0), day(2026, 9, 20), 50},
		{"day: leap day", apigw.Quota{Limit: 10, Offset: 3, Period: apigw.PeriodDay}, date(2028, 2, 29, 12, 0, 0, 0), day(2028, 2, 29), 7},
		{"day: after the leap day", apigw.Quota{Limit: 10, Offset: 3, Period: apigw.PeriodDay}, date(2028, 2, 29, 12, 0, 0, 0), day(2028, 3, 1), 10},
		{"day: before the leap day", apigw.Quota{Limit: 10, Offset: 3, Period: apigw.PeriodDay}, date(2028, 2, 29, 12, 0, 0, 0), day(2028, 2, 28), 10},
		{"day: since the first instant", apigw.Quota{Limit: 10, Offset: 3, Period: apigw.PeriodDay}, day(2026, 9, 13), day(2026, 9, 13), 7},
		{"year end: initial December", apigw.Quota{Limit: 10, Offset: 4, Period: apigw.PeriodMonth}, date(2026, 12, 31, 23, 0, 0, 0), day(2026, 12, 1), 6},
		{"year end: January", apigw.Quota{Limit: 10, Offset: 4, Period: apigw.PeriodMonth}, date(2026, 12, 31, 23, 0, 0, 0), day(2027, 1, 1), 10},
		{"offset equal to the limit", apigw.Quota{Limit: 10, Offset: 10, Period: apigw.PeriodDay}, since, day(2026, 9, 13), 0},
		{"offset above the limit never goes negative", apigw.Quota{Limit: 10, Offset: 11, Period: apigw.PeriodDay}, since, day(2026, 9, 13), 0},
		{"no offset", apigw.Quota{Limit: 10, Period: apigw.PeriodDay}, since, day(2026, 9, 13), 10},
	} {
		if got := quota.Allowance(tc.q, tc.since, tc.periodStart); got != tc.want {
			t.Errorf("%s: Allowance = %d, want %d", tc.what, got, tc.want)
		}
	}
}

func TestPolicyOverride(t *testing.T) {
	p := &quota.Policy{Quota: apigw.Quota{Limit: 100, Offset: 10, Period: apigw.PeriodDay}, Since: day(2026, 9, 13),
		OverrideStart: day(2026, 9, 14), Override: 5}
	for _, tc := range []struct {
		start time.Time
		want  int64
	}{
		{day(2026, 9, 13), 90},
		{day(2026, 9, 14), 5},
		{day(2026, 9, 15), 100},
	} {
		if got := p.AllowanceAt(tc.start); got != tc.want {
			t.Errorf("AllowanceAt(%v) = %d, want %d", tc.start, got, tc.want)
		}
	}
	p.Override = -3
	if got := p.AllowanceAt(day(2026, 9, 14)); got != 0 {
		t.Errorf("negative override: %d, want 0", got)
	}
}
