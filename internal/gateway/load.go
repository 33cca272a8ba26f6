// Package gateway wires the data plane to the store: it reads the configuration into a
// snapshot.Input, compiles it and swaps it into the data-plane handler whenever the store reports a
// change. It is the only data-plane-side package that talks to the store.
package gateway

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/quota"
	"github.com/tollgate/tollgate/internal/snapshot"
	"github.com/tollgate/tollgate/internal/store"
)

// pageSize is how many rows one list call reads while loading.
const pageSize = 1000

// keyIndexPage is how many keys one read of the key index returns. Its rows are small (an id, a
// hash and a flag), and fewer round trips pay: a million keys on a local PostgreSQL read in
// 0.85–1.08 s in pages of 10,000 against 1.0–1.2 s in pages of 1,000.
const keyIndexPage = 10_000

// Load reads every region's configuration. throttle is the account throttle (operator config);
// counters (may be nil) supplies UpdateUsage overrides for the current periods.
func Load(ctx context.Context, st store.Store, counters store.Counters, throttle apigw.Throttle, now time.Time) (snapshot.Input, error) {
	seq, _, err := changeSeq(ctx, st)
	if err != nil {
		return snapshot.Input{}, err
	}
	in := snapshot.Input{Seq: seq}
	bulk := false
	regions, err := st.Regions(ctx)
	if err != nil {
		return in, err
	}
	for _, region := range regions {
		ri := snapshot.RegionInput{Region: region, Throttle: throttle, PlanKeys: map[string][]string{}}
		if err := loadRegion(ctx, st, &ri); err != nil {
			return in, err
		}
		if counters != nil {
			if err := loadOverrides(ctx, counters, &ri, now); err != nil {
				return in, err
			}
		}
		in.Regions = append(in.Regions, ri)
		bulk = bulk || ri.KeyCount() >= keyIndexPartMin
	}
	// A large load leaves the store's connections holding what they read (the embedded store's
	// maps of its file, one per connection): hand it back.
	if r, ok := st.(store.MemoryReleaser); ok && bulk {
		r.ReleaseMemory(ctx)
	}
	return in, nil
}

func changeSeq(ctx context.Context, st store.Store) (int64, <-chan struct{}, error) {
	c, cancel := context.WithCancel(ctx)
	defer cancel()
	return st.Changes(c)
}

// keyIndexParts is at most how many parts of the key index a load reads side by side, and
// keyIndexPartMin the fewest insertion positions a part spans (smaller indexes are read in one
// part: a few thousand keys read in milliseconds). A part is a read transaction on a connection
// of its own, and the plans' key lists take one more. At a million keys on SQLite one reader
// decoded the index in 1.4 s of a 2.5 s start; the parts spread that over the cores.
const keyIndexParts = 3

var keyIndexPartMin = 50_000 // a variable so that tests can split a short index

// loadRegion reads a region's configuration, then its key index (in parts) and its plans' key
// lists side by side, each in a read transaction of its own. The transactions may see
// different states of the store, which a snapshot may do: Load read the change sequence before
// them, so the next sync applies every write any of them missed (a key a plan lists that the
// index lacks is left out until then, as a key the index has without its plan is; a key's
// insertion position never changes, so no key moves between parts).
func loadRegion(ctx context.Context, st store.Store, ri *snapshot.RegionInput) error {
	var cuts []string
	if err := st.View(ctx, ri.Region, func(tx store.Tx) error {
		if err := loadConfig(tx, ri); err != nil {
			return err
		}
		var err error
		cuts, err = tx.SplitKeyIndex(min(runtime.GOMAXPROCS(0), keyIndexParts), keyIndexPartMin)
		return err
	}); err != nil {
		return err
	}
	var wg sync.WaitGroup
	var planKeysErr error
	wg.Go(func() {
		planKeysErr = st.View(ctx, ri.Region, func(tx store.Tx) error {
			for _, p := range ri.Plans {
				ids, err := tx.ListPlanKeyIDs(p.ID)
				if err != nil {
					return err
				}
				ri.PlanKeys[p.ID] = ids
			}
			return nil
		})
	})
	parts := make([]keyIndexPart, len(cuts)+1)
	for i := range parts {
		if i > 0 {
			parts[i].from = cuts[i-1]
		}
		if i < len(cuts) {
			parts[i].stop = cuts[i]
		}
	}
	for i := range parts[1:] {
		wg.Go(func() { parts[i+1].read(ctx, st, ri.Region) })
	}
	parts[0].read(ctx, st, ri.Region)
	wg.Wait()
	errs := []error{planKeysErr}
	for _, p := range parts {
		errs = append(errs, p.err)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, p := range parts {
		ri.KeyPages = append(ri.KeyPages, p.pages...)
	}
	return nil
}

// keyIndexPart is a stretch of the key index, from one cursor down to the stop, read in its own
// transaction. The key index and plan memberships are read from columns: decoding a million key
// documents only to keep their id, value and enabled flag dominated loading.
type keyIndexPart struct {
	from, stop string
	pages      [][]snapshot.KeyInput
	err        error
}

// read reads the part, each page of the store's turned into a page of the snapshot's input as
// it comes (the store's page is garbage at once). The pages are handed to the build as they
// are, and it drops each once copied: joining them into one slice first would hold a second
// copy of every key (56 bytes a key) while the build runs. (At 1.7 million keys the rebuild's
// peak RSS did not move measurably: the two snapshots live until the swap dominate it.)
func (p *keyIndexPart) read(ctx context.Context, st store.Store, region string) {
	p.err = st.View(ctx, region, func(tx store.Tx) error {
		p.pages = nil
		for cursor := p.from; ; {
			keys, next, err := tx.ListKeyIndex(store.Page{Cursor: cursor, Limit: keyIndexPage}, p.stop)
			if err != nil {
				return err
			}
			page := make([]snapshot.KeyInput, len(keys))
			for i, k := range keys {
				page[i] = snapshot.KeyInput{ID: k.ID, Hash: k.Hash, Enabled: k.Enabled}
			}
			p.pages = append(p.pages, page)
			if next == "" {
				return nil
			}
			cursor = next
		}
	})
}

// loadConfig reads the region's APIs, deployed stages and usage plans.
func loadConfig(tx store.Tx, ri *snapshot.RegionInput) error {
	var err error
	if ri.Apis, err = all(func(p store.Page) ([]*apigw.RestApi, string, error) { return tx.ListRestApis(p) }); err != nil {
		return err
	}
	for _, a := range ri.Apis {
		stages, err := tx.ListStages(a.ID)
		if err != nil {
			return err
		}
		for _, s := range stages {
			d, err := tx.GetDeployment(a.ID, s.DeploymentID)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			ri.Deployments = append(ri.Deployments, d)
			ri.Stages = append(ri.Stages, s)
		}
	}
	ri.Plans, err = all(func(p store.Page) ([]*apigw.UsagePlan, string, error) { return tx.ListUsagePlans("", p) })
	return err
}

// loadOverrides keeps the UpdateUsage allowances that apply to each plan's current period.
func loadOverrides(ctx context.Context, c store.Counters, ri *snapshot.RegionInput, now time.Time) error {
	for _, p := range ri.Plans {
		if p.Quota == nil {
			continue
		}
		start := quota.PeriodStart(p.Quota.Period, now)
		ovs, err := c.Allowances(ctx, ri.Region, p.ID, start)
		if err != nil {
			return err
		}
		for k, a := range ovs {
			if !k.PeriodStart.Equal(start) {
				continue
			}
			if ri.Overrides == nil {
				ri.Overrides = map[string]map[string]snapshot.Override{}
			}
			if ri.Overrides[p.ID] == nil {
				ri.Overrides[p.ID] = map[string]snapshot.Override{}
			}
			ri.Overrides[p.ID][k.KeyID] = snapshot.Override{PeriodStart: start, Allowance: a}
		}
	}
	return nil
}

// all reads every page of a list.
func all[T any](list func(store.Page) ([]T, string, error)) ([]T, error) {
	var out []T
	cursor := ""
	for {
		items, next, err := list(store.Page{Cursor: cursor, Limit: pageSize})
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}
