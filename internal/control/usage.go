package control

import (
	"context"
	"strconv"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/quota"
	"github.com/tollgate/tollgate/internal/store"
)

// UsageBackend is what GetUsage and UpdateUsage need beyond the configuration store.
type UsageBackend struct {
	Counters store.Counters
	// Flush writes the data plane's in-memory counts, so that reports are real time.
	Flush func(ctx context.Context) error
}

// SetUsage enables GetUsage and UpdateUsage.
func (s *Service) SetUsage(u UsageBackend) { s.usage = u }

// Usage is the result of GetUsage/UpdateUsage: per key, one [used, remaining] pair per day.
type Usage struct {
	PlanID    string
	StartDate string
	EndDate   string
	Next      string
	KeyIDs    []string // in page order
	Values    map[string][][2]int64
}

const dateLayout = "2006-01-02"

func parseDate(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, apigw.BadRequest("%s must be specified", name)
	}
	t, err := time.Parse(dateLayout, v)
	if err != nil {
		return time.Time{}, apigw.BadRequest("Invalid %s specified: %s. Dates must be of the form yyyy-MM-dd", name, v)
	}
	return t, nil
}

// GetUsage reports a plan's usage per key and UTC day (spec §3.10), paging over keys.
func (s *Service) GetUsage(ctx context.Context, region, planID, keyID, startDate, endDate, cursor string, limit int) (*Usage, error) {
	if s.usage.Counters == nil {
		return nil, apigw.Errorf(apigw.KindServiceUnavailable, "Usage reporting is not available")
	}
	var plan *apigw.UsagePlan
	var keys []string
	var next string
	err := s.view(ctx, region, func(tx store.Tx) error {
		var err error
		if plan, err = tx.GetUsagePlan(planID); err != nil {
			return notFound(err, apigw.NotFound(apigw.MsgInvalidUsagePlanID))
		}
		if keyID != "" {
			if _, err := tx.GetUsagePlanKey(planID, keyID); err != nil {
				return notFound(err, apigw.NotFound(apigw.MsgInvalidKeyID))
			}
			keys = []string{keyID}
			return nil
		}
		page, nxt, err := tx.ListUsagePlanKeys(planID, "", store.Page{Cursor: cursor, Limit: limit})
		if err != nil {
			return err
		}
		for _, k := range page {
			keys = append(keys, k.ID)
		}
		next = nxt
		return nil
	})
	if err != nil {
		return nil, err
	}
	start, err := parseDate("startDate", startDate)
	if err != nil {
		return nil, err
	}
	end, err := parseDate("endDate", endDate)
	if err != nil {
		return nil, err
	}
	if end.Before(start) {
		return nil, apigw.BadRequest("The end date must not be before the start date")
	}
	if s.usage.Flush != nil {
		if err := s.usage.Flush(ctx); err != nil {
			return nil, err
		}
	}
	out := &Usage{PlanID: planID, StartDate: startDate, EndDate: endDate, Next: next, KeyIDs: keys, Values: map[string][][2]int64{}}
	today := s.now().UTC().Truncate(24 * time.Hour)
	if end.After(today) {
		end = today
	}
	from := start
	if plan.Quota != nil {
		from = quota.PeriodStart(plan.Quota.Period, start)
	}
	// The page's keys' rows only; an empty page reads nothing (nil would ask for every key).
	var counts map[string]map[time.Time]int64
	if len(keys) > 0 {
		if counts, err = s.usage.Counters.Usage(ctx, region, planID, keys, from, end); err != nil {
			return nil, err
		}
	}
	var overrides map[store.QuotaKey]int64
	if plan.Quota != nil {
		if overrides, err = s.usage.Counters.Allowances(ctx, region, planID, from); err != nil {
			return nil, err
		}
	}
	for _, k := range keys {
		out.Values[k] = dailyUsage(plan, region, k, counts[k], overrides, from, start, end)
	}
	return out, nil
}

// dailyUsage computes [used, remaining] for each day in [start, end]; remaining is what is left
// at the end of that day in the quota period containing it (cumulative within the period), 0
// without a quota.
func dailyUsage(plan *apigw.UsagePlan, region, keyID string, counts map[time.Time]int64, overrides map[store.QuotaKey]int64, from, start, end time.Time) [][2]int64 {
	var out [][2]int64
	var periodStart time.Time
	var used int64
	for d := from; !d.After(end); d = d.AddDate(0, 0, 1) {
		n := counts[d]
		var remaining int64
		if q := plan.Quota; q != nil {
			ps := quota.PeriodStart(q.Period, d)
			if !ps.Equal(periodStart) {
				periodStart, used = ps, 0
			}
			used += n
			allowance := quota.Allowance(*q, plan.QuotaSince, ps)
			if a, ok := overrides[store.QuotaKey{Region: region, PlanID: plan.ID, KeyID: keyID, PeriodStart: ps}]; ok {
				allowance = a
			}
			remaining = max(0, allowance-used)
		}
		if !d.Before(start) {
			out = append(out, [2]int64{n, remaining})
		}
	}
	if out == nil {
		out = [][2]int64{}
	}
	return out
}

// UpdateUsage grants a key a new remaining quota for the current period (spec §3.11): the only
// valid operation is replace /remaining.
func (s *Service) UpdateUsage(ctx context.Context, region, planID, keyID string, ops []patch.Op) (*Usage, error) {
	if s.usage.Counters == nil {
		return nil, apigw.Errorf(apigw.KindServiceUnavailable, "Usage reporting is not available")
	}
	var plan *apigw.UsagePlan
	err := s.view(ctx, region, func(tx store.Tx) error {
		var err error
		if plan, err = tx.GetUsagePlan(planID); err != nil {
			return notFound(err, apigw.NotFound(apigw.MsgInvalidUsagePlanID))
		}
		if _, err := tx.GetUsagePlanKey(planID, keyID); err != nil {
			return notFound(err, apigw.NotFound(apigw.MsgInvalidKeyID))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	remaining := int64(-1)
	for _, op := range ops {
		switch {
		case op.Op == "replace" && op.Path == "/remaining":
			n, err := strconv.ParseInt(op.V(), 10, 64)
			if err != nil || n < 0 {
				return nil, apigw.BadRequest("Invalid remaining value specified: %s. Must be a non-negative integer", op.V())
			}
			remaining = n
		case op.Op == "replace":
			return nil, patch.InvalidPath(op.Path, op.Op, []string{"/remaining"})
		default:
			return nil, patch.InvalidPath(op.Path, op.Op, nil)
		}
	}
	if plan.Quota == nil {
		return nil, apigw.BadRequest("Usage plan %s does not have a quota", planID)
	}
	now := s.now().UTC()
	today := now.Truncate(24 * time.Hour)
	ps := quota.PeriodStart(plan.Quota.Period, now)
	if s.usage.Flush != nil {
		if err := s.usage.Flush(ctx); err != nil {
			return nil, err
		}
	}
	counts, err := s.usage.Counters.Usage(ctx, region, planID, []string{keyID}, ps, today)
	if err != nil {
		return nil, err
	}
	var used int64
	for _, n := range counts[keyID] {
		used += n
	}
	if remaining < 0 {
		remaining = max(0, quota.Allowance(*plan.Quota, plan.QuotaSince, ps)-used)
	} else {
		k := store.QuotaKey{Region: region, PlanID: planID, KeyID: keyID, PeriodStart: ps}
		if err := s.usage.Counters.SetAllowance(ctx, k, used+remaining); err != nil {
			return nil, err
		}
		// Log a change of the plan key: it goes through the change feed, so every node's data
		// plane reloads this key with its new allowance (one key, not the whole snapshot).
		err := s.update(ctx, region, func(tx store.Tx) error {
			return notFound(tx.TouchUsagePlanKey(planID, keyID), apigw.NotFound(apigw.MsgInvalidKeyID))
		})
		if err != nil {
			return nil, err
		}
	}
	day := today.Format(dateLayout)
	return &Usage{PlanID: planID, StartDate: day, EndDate: day, KeyIDs: []string{keyID},
		Values: map[string][][2]int64{keyID: {{counts[keyID][today], remaining}}}}, nil
}
