// Package quotamem is an in-memory store.Counters for tests: the reference the SQLite and
// PostgreSQL backends are held to by storetest.RunCounters, and a fast ledger for quota and
// meter tests. It keeps nothing across restarts, so it is no production backend.
package quotamem

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/tollgate/tollgate/internal/store"
)

// Counters implements store.Counters in memory. The zero value is not usable; call New.
type Counters struct {
	mu         sync.Mutex
	reserved   map[qkey]int64
	allowances map[qkey]int64
	usage      map[ukey]int64
	epochs     map[string]uint64 // by usage journal
}

// qkey is a QuotaKey with the period as Unix seconds, so equal instants in different
// locations are one key.
type qkey struct {
	region, planID, keyID string
	period                int64
}

type ukey struct {
	region, planID, keyID string
	day                   int64 // Unix seconds of 00:00 UTC
}

var _ store.Counters = (*Counters)(nil)

// New returns empty counters.
func New() *Counters {
	return &Counters{reserved: map[qkey]int64{}, allowances: map[qkey]int64{}, usage: map[ukey]int64{}, epochs: map[string]uint64{}}
}

func toQ(k store.QuotaKey) qkey { return qkey{k.Region, k.PlanID, k.KeyID, k.PeriodStart.Unix()} }

// dayOf returns the Unix seconds of the UTC day containing t.
func dayOf(t time.Time) int64 {
	s := t.Unix()
	return s - ((s%86400)+86400)%86400
}

// ReserveQuota implements store.Counters; like a database, it refuses a call whose context has
// ended.
func (c *Counters) ReserveQuota(ctx context.Context, k store.QuotaKey, want, limit int64) (int64, int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	q := toQ(k)
	cur := c.reserved[q]
	g := max(min(want, limit-cur), 0)
	c.reserved[q] = cur + g
	return g, cur + g, nil
}

// ReleaseQuota implements store.Counters.
func (c *Counters) ReleaseQuota(_ context.Context, k store.QuotaKey, n int64) error {
	if n <= 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	q := toQ(k)
	if cur, ok := c.reserved[q]; ok {
		c.reserved[q] = max(cur-n, 0)
	}
	return nil
}

// QuotaReserved implements store.Counters.
func (c *Counters) QuotaReserved(_ context.Context, k store.QuotaKey) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reserved[toQ(k)], nil
}

// SetAllowance implements store.Counters.
func (c *Counters) SetAllowance(_ context.Context, k store.QuotaKey, allowance int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.allowances[toQ(k)] = allowance
	return nil
}

// Allowances implements store.Counters.
func (c *Counters) Allowances(_ context.Context, region, planID string, since time.Time) (map[store.QuotaKey]int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	from := since.Unix()
	if since.Nanosecond() > 0 {
		from++ // periods starting at or after since: the first whole second not before it
	}
	out := map[store.QuotaKey]int64{}
	for q, a := range c.allowances {
		if q.region == region && q.planID == planID && q.period >= from {
			out[store.QuotaKey{Region: region, PlanID: planID, KeyID: q.keyID, PeriodStart: time.Unix(q.period, 0).UTC()}] = a
		}
	}
	return out, nil
}

// AddUsage implements store.Counters.
func (c *Counters) AddUsage(_ context.Context, deltas []store.UsageDelta) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.addUsage(deltas)
	return nil
}

func (c *Counters) addUsage(deltas []store.UsageDelta) {
	for _, d := range deltas {
		if d.Count != 0 {
			c.usage[ukey{d.Region, d.PlanID, d.KeyID, dayOf(d.Day)}] += d.Count
		}
	}
}

// CommitUsage implements store.Counters.
func (c *Counters) CommitUsage(_ context.Context, journal string, epoch uint64, deltas []store.UsageDelta) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epochs[journal] >= epoch {
		return nil
	}
	c.epochs[journal] = epoch
	c.addUsage(deltas)
	return nil
}

// UsageEpoch implements store.Counters.
func (c *Counters) UsageEpoch(_ context.Context, journal string) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epochs[journal], nil
}

// Usage implements store.Counters.
func (c *Counters) Usage(_ context.Context, region, planID string, keyIDs []string, from, to time.Time) (map[string]map[time.Time]int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	lo, hi := dayOf(from), dayOf(to)
	out := map[string]map[time.Time]int64{}
	for u, n := range c.usage {
		if u.region != region || u.planID != planID || u.day < lo || u.day > hi || (keyIDs != nil && !slices.Contains(keyIDs, u.keyID)) {
			continue
		}
		if out[u.keyID] == nil {
			out[u.keyID] = map[time.Time]int64{}
		}
		out[u.keyID][time.Unix(u.day, 0).UTC()] = n
	}
	return out, nil
}
