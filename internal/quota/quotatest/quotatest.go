// Package quotatest is the conformance suite of quota counting over a store.Counters backend:
// the invariants that make quotas exact — never more admitted than the allowance across every
// Counter sharing a store, exactly the allowance when nodes run until rejection, at most a lease
// lost to a killed node, allowance changes and period changes taking effect. Every backend (the
// in-memory reference, SQLite, PostgreSQL leases) runs it. Clocks are injected; nothing sleeps.
package quotatest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/quota"
	"github.com/tollgate/tollgate/internal/quota/quotastore"
	"github.com/tollgate/tollgate/internal/store"
)

// Opener returns new, empty counters; it arranges their cleanup.
type Opener func(t *testing.T) store.Counters

// now is a Sunday in the middle of a month, at noon UTC.
var now = time.Date(2026, 9, 13, 12, 0, 0, 0, time.UTC)

const region, plan, key = "eu-west-1", "p1", "k1"

// Run runs the suite, each case on fresh counters.
func Run(t *testing.T, open Opener) {
	cases := []struct {
		name string
		run  func(*testing.T, store.Counters)
	}{
		{"exact with 64 goroutines on one counter", func(t *testing.T, c store.Counters) { exact(t, c, 1) }},
		{"exact with 64 goroutines on three counters", func(t *testing.T, c store.Counters) { exact(t, c, 3) }},
		{"kill -9 loses at most the lease", killed},
		{"close returns the unused lease", closeReturns},
		{"lowered allowance across counters", lowered},
		{"lowered below what was used", loweredBelowUsed},
		{"override raises the allowance", override},
		{"period rollover", rollover},
		{"rollover leased ahead: no request waits", rolloverAhead},
		{"rollover leased ahead, then the allowance changes", rolloverAheadChanged},
		{"offset in the initial period only", offset},
		{"zero allowance", zeroAllowance},
		{"ledger failure", ledgerFailure},
		{"bad policy", badPolicy},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
	}
}

func policy(limit int64, period string) *quota.Policy {
	return &quota.Policy{Quota: apigw.Quota{Limit: limit, Period: period}, Since: now.AddDate(-1, 0, 0)}
}

// newCounter returns a Counter over c, closed at cleanup unless the test closes or "kills" it.
func newCounter(t *testing.T, c store.Counters) *quota.Counter {
	qc := quota.New(quotastore.Ledger(c), quota.Options{})
	t.Cleanup(func() { qc.Close(context.Background()) })
	return qc
}

// drain takes from e until it is rejected and returns how many it admitted.
func drain(t *testing.T, e *quota.Entry, p *quota.Policy, at time.Time) int64 {
	t.Helper()
	n := int64(0)
	for {
		ok, err := e.Take(context.Background(), p, at)
		if err != nil {
			t.Fatalf("Take: %v", err)
		}
		if !ok {
			return n
		}
		n++
	}
}

func reserved(t *testing.T, c store.Counters, periodStart time.Time) int64 {
	t.Helper()
	n, err := c.QuotaReserved(context.Background(), store.QuotaKey{Region: region, PlanID: plan, KeyID: key, PeriodStart: periodStart})
	if err != nil {
		t.Fatalf("QuotaReserved: %v", err)
	}
	return n
}

func want(t *testing.T, what string, got, want int64) {
	t.Helper()
	if got != want {
		t.Errorf("%s: %d, want %d", what, got, want)
	}
}

// exact runs 64 goroutines spread over `counters` Counters sharing c, each taking until it is
// rejected: exactly the allowance is admitted, and the store has reserved exactly that much.
func exact(t *testing.T, c store.Counters, counters int) {
	const goroutines, allowance = 64, 1000
	p := policy(allowance, apigw.PeriodMonth)
	entries := make([]*quota.Entry, counters)
	for i := range entries {
		entries[i] = newCounter(t, c).Entry(region, plan, key)
	}
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			e := entries[g%counters]
			for {
				ok, err := e.Take(context.Background(), p, now)
				if err != nil {
					t.Errorf("Take: %v", err)
					return
				}
				if !ok {
					return
				}
				admitted.Add(1)
			}
		})
	}
	wg.Wait()
	want(t, "admitted", admitted.Load(), allowance)
	want(t, "reserved", reserved(t, c, quota.PeriodStart(apigw.PeriodMonth, now)), allowance)
}

// killed drops a Counter holding a lease without Close (a kill -9): the survivors never admit
// more than the allowance, and the shortfall is exactly the dead node's unused lease.
func killed(t *testing.T, c store.Counters) {
	const allowance = 1000
	p := policy(allowance, apigw.PeriodMonth)
	dead := quota.New(quotastore.Ledger(c), quota.Options{}).Entry(region, plan, key) // never closed
	a := int64(0)
	for range 10 { // well above the first lease's low watermark: no refill ahead is in flight
		if ok, err := dead.Take(context.Background(), p, now); !ok || err != nil {
			t.Fatalf("Take = %v, %v", ok, err)
		}
		a++
	}
	lost := dead.Unused()
	if lost <= 0 || lost > 1000 {
		t.Fatalf("the dead counter holds %d unused, want a lease in (0, MaxLease]", lost)
	}
	b := drain(t, newCounter(t, c).Entry(region, plan, key), p, now)
	want(t, "admitted by both", a+b, allowance-lost)
	want(t, "admitted after a restart", drain(t, newCounter(t, c).Entry(region, plan, key), p, now), 0)
}

func closeReturns(t *testing.T, c store.Counters) {
	p := policy(100, apigw.PeriodMonth)
	qc := quota.New(quotastore.Ledger(c), quota.Options{})
	e := qc.Entry(region, plan, key)
	for range 3 {
		e.Take(context.Background(), p, now)
	}
	if err := qc.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	want(t, "reserved after Close", reserved(t, c, quota.PeriodStart(apigw.PeriodMonth, now)), 3)
	if ok, err := e.Take(context.Background(), p, now); ok || !errors.Is(err, quota.ErrClosed) {
		t.Errorf("Take after Close = %v, %v; want false, ErrClosed", ok, err)
	}
	want(t, "admitted by the next node", drain(t, newCounter(t, c).Entry(region, plan, key), p, now), 97)
}

// lowered cuts the limit from 100 to 20 after two nodes used 15: exactly 5 more pass, once each
// node has seen the change and handed back its unused lease.
func lowered(t *testing.T, c store.Counters) {
	p1 := policy(100, apigw.PeriodMonth)
	a, b := newCounter(t, c).Entry(region, plan, key), newCounter(t, c).Entry(region, plan, key)
	for range 10 {
		a.Take(context.Background(), p1, now)
	}
	for range 5 {
		b.Take(context.Background(), p1, now)
	}
	p2 := policy(20, apigw.PeriodMonth)
	n := drain(t, a, p2, now) + drain(t, b, p2, now) + drain(t, a, p2, now)
	want(t, "admitted after lowering the limit to 20", n, 5)
	want(t, "reserved", reserved(t, c, quota.PeriodStart(apigw.PeriodMonth, now)), 20)
}

func loweredBelowUsed(t *testing.T, c store.Counters) {
	e := newCounter(t, c).Entry(region, plan, key)
	for range 30 {
		e.Take(context.Background(), policy(100, apigw.PeriodMonth), now)
	}
	want(t, "admitted under limit 20 after 30 used", drain(t, e, policy(20, apigw.PeriodMonth), now), 0)
	want(t, "reserved", reserved(t, c, quota.PeriodStart(apigw.PeriodMonth, now)), 30)
}

// override: UpdateUsage raises the allowance of the current period only.
func override(t *testing.T, c store.Counters) {
	e := newCounter(t, c).Entry(region, plan, key)
	p := policy(10, apigw.PeriodDay)
	want(t, "admitted under limit 10", drain(t, e, p, now), 10)
	o := p.WithOverride(quota.PeriodStart(apigw.PeriodDay, now), 15)
	want(t, "admitted after the override to 15", drain(t, e, o, now.Add(time.Minute)), 5)
	want(t, "admitted the next day", drain(t, e, o, now.AddDate(0, 0, 1)), 10)
}

func rollover(t *testing.T, c store.Counters) {
	e := newCounter(t, c).Entry(region, plan, key)
	p := policy(5, apigw.PeriodDay)
	day1, day2 := quota.PeriodStart(apigw.PeriodDay, now), quota.PeriodStart(apigw.PeriodDay, now).AddDate(0, 0, 1)
	want(t, "admitted on day 1", drain(t, e, p, day2.Add(-time.Nanosecond)), 5)
	want(t, "admitted on day 2", drain(t, e, p, day2), 5)
	// A caller still holding a day-1 clock after the rollover is charged to day 2.
	want(t, "admitted with a late day-1 clock", drain(t, e, p, day1.Add(time.Hour)), 0)
	want(t, "reserved on day 1", reserved(t, c, day1), 5)
	want(t, "reserved on day 2", reserved(t, c, day2), 5)
}

// countReserves counts the ledger's ReserveQuota calls.
type countReserves struct {
	quota.Ledger
	n atomic.Int64
}

func (l *countReserves) ReserveQuota(ctx context.Context, k quota.Key, want, limit int64) (int64, int64, error) {
	l.n.Add(1)
	return l.Ledger.ReserveQuota(ctx, k, want, limit)
}

// rolloverAhead is midnight for a node serving keys: the rollover pass leases the next day for
// the keys in use (spent ones included) before the boundary, so no request after it calls the
// ledger, and the new day stays exact. The clock is injected; the pass is run as the Counter's
// schedule runs it, Options.Ahead before the boundary.
func rolloverAhead(t *testing.T, c store.Counters) {
	boundary := quota.NextBoundary(now)
	day2 := boundary
	l := &countReserves{Ledger: quotastore.Ledger(c)}
	qc := quota.New(l, quota.Options{Ahead: -1})
	t.Cleanup(func() { qc.Close(context.Background()) })
	p, small := policy(1000, apigw.PeriodDay), policy(2, apigw.PeriodDay)
	const keys = 40
	before, after := boundary.Add(-time.Minute), boundary.Add(time.Second)
	entries := make([]*quota.Entry, keys) // the caller keeps one entry per key, as the data plane does
	for i := range keys {
		entries[i] = qc.Entry(region, plan, fmt.Sprint("k", i))
		if ok, err := entries[i].Take(context.Background(), p, before); !ok || err != nil {
			t.Fatalf("Take before midnight = %v, %v", ok, err)
		}
	}
	spent := qc.Entry(region, plan, "spent")
	want(t, "admitted to the spent key", drain(t, spent, small, before), 2)
	qc.PrepareRollover(boundary)

	reserves, waits := l.n.Load(), qc.Stats().Waits
	for i := range keys {
		if ok, err := entries[i].Take(context.Background(), p, after); !ok || err != nil {
			t.Fatalf("Take after midnight = %v, %v", ok, err)
		}
	}
	if ok, err := spent.Take(context.Background(), small, after); !ok || err != nil {
		t.Fatalf("the spent key after midnight = %v, %v", ok, err)
	}
	if n := l.n.Load() - reserves; n != 0 {
		t.Errorf("%d ledger reservations by the first requests after midnight, want 0", n)
	}
	if w := qc.Stats().Waits - waits; w != 0 {
		t.Errorf("%d requests after midnight waited for the ledger, want 0", w)
	}
	// Exact in the new day: each key admits its allowance and no more.
	want(t, "admitted on day 2 to k0", 1+drain(t, entries[0], p, after), 1000)
	want(t, "admitted on day 2 to the spent key", 1+drain(t, spent, small, after), 2)
	got, err := c.QuotaReserved(context.Background(), store.QuotaKey{Region: region, PlanID: plan, KeyID: "k0", PeriodStart: day2})
	want(t, "reserved on day 2 for k0", got, 1000)
	if err != nil {
		t.Fatal(err)
	}

	// The same requests without the pass each wait for the ledger: what the pass saves.
	cold := quota.New(quotastore.Ledger(c), quota.Options{Ahead: -1})
	t.Cleanup(func() { cold.Close(context.Background()) })
	for i := range keys {
		entries[i] = cold.Entry(region, "cold", fmt.Sprint("k", i))
		entries[i].Take(context.Background(), p, before)
	}
	waits = cold.Stats().Waits
	for i := range keys {
		entries[i].Take(context.Background(), p, after)
	}
	want(t, "waits after midnight without the pass", int64(cold.Stats().Waits-waits), keys)
}

// rolloverAheadChanged: the allowance of the coming day changes after the lease ahead was taken
// (a new limit written before midnight). The lease is given back, and the new day admits
// exactly the new allowance.
func rolloverAheadChanged(t *testing.T, c store.Counters) {
	boundary := quota.NextBoundary(now)
	qc := newCounter(t, c)
	e := qc.Entry(region, plan, key)
	if ok, err := e.Take(context.Background(), policy(1000, apigw.PeriodDay), boundary.Add(-time.Minute)); !ok || err != nil {
		t.Fatalf("Take = %v, %v", ok, err)
	}
	qc.PrepareRollover(boundary)
	if got := reserved(t, c, boundary); got <= 0 {
		t.Fatalf("reserved ahead for day 2: %d, want a lease", got)
	}
	want(t, "admitted on day 2 under the new limit", drain(t, e, policy(30, apigw.PeriodDay), boundary.Add(time.Second)), 30)
	if err := qc.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	want(t, "reserved on day 2 once the lease ahead is back", reserved(t, c, boundary), 30)
}

func offset(t *testing.T, c store.Counters) {
	e := newCounter(t, c).Entry(region, plan, key)
	p := &quota.Policy{Quota: apigw.Quota{Limit: 100, Offset: 90, Period: apigw.PeriodMonth}, Since: now}
	want(t, "admitted in the initial month", drain(t, e, p, now), 10)
	want(t, "admitted the month after", drain(t, e, p, now.AddDate(0, 1, 0)), 100)
}

func zeroAllowance(t *testing.T, c store.Counters) {
	want(t, "admitted under limit 0", drain(t, newCounter(t, c).Entry(region, plan, key), policy(0, apigw.PeriodDay), now), 0)
}

// failing fails ReserveQuota while fail is set.
type failing struct {
	store.Counters
	fail atomic.Bool
}

var errDown = errors.New("ledger down")

func (f *failing) ReserveQuota(ctx context.Context, k store.QuotaKey, want, limit int64) (int64, int64, error) {
	if f.fail.Load() {
		return 0, 0, errDown
	}
	return f.Counters.ReserveQuota(ctx, k, want, limit)
}

func ledgerFailure(t *testing.T, c store.Counters) {
	f := &failing{Counters: c}
	f.fail.Store(true)
	e := newCounter(t, f).Entry(region, plan, key)
	p := policy(3, apigw.PeriodDay)
	if ok, err := e.Take(context.Background(), p, now); ok || !errors.Is(err, errDown) {
		t.Fatalf("Take with the ledger down = %v, %v; want false and the ledger's error", ok, err)
	}
	f.fail.Store(false)
	want(t, "admitted once the ledger is back", drain(t, e, p, now), 3)
}

func badPolicy(t *testing.T, c store.Counters) {
	e := newCounter(t, c).Entry(region, plan, key)
	for _, p := range []*quota.Policy{nil, policy(10, ""), policy(10, "YEAR")} {
		if ok, err := e.Take(context.Background(), p, now); ok || !errors.Is(err, quota.ErrBadPolicy) {
			t.Errorf("Take(%+v) = %v, %v; want false, ErrBadPolicy", p, ok, err)
		}
	}
}
