package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/store"
)

var gcPeriod = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)

func gcKey(i int) store.QuotaKey {
	return store.QuotaKey{Region: "us-east-1", PlanID: "p", KeyID: fmt.Sprintf("k%d", i), PeriodStart: gcPeriod}
}

// TestLeasesQueuedBehindTheWriterCommitTogether: leases that arrive while the writer is busy
// (here with a configuration write) are committed in one transaction when it frees, not one
// fsync each, and every caller still gets its own grant.
func TestLeasesQueuedBehindTheWriterCommitTogether(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "tollgate.db"))
	const callers = 64
	hold, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	defer free() // a failed test must not leave the writer held
	go s.Update(context.Background(), "us-east-1", func(store.Tx) error {
		close(hold)
		<-release
		return nil
	})
	<-hold
	before, queued := s.quotaCommits.Load(), s.quotaQueued.Load()
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			g, total, err := s.ReserveQuota(context.Background(), gcKey(i), int64(i+1), 1000)
			if err != nil || g != int64(i+1) || total != int64(i+1) {
				t.Errorf("key %d: ReserveQuota = %d, %d, %v; want %d, %d", i, g, total, err, i+1, i+1)
			}
		})
	}
	// The committer holds the first leases waiting for the writer; the rest queue behind them.
	for deadline := time.Now().Add(5 * time.Second); s.quotaQueued.Load()-queued < callers; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d leases queued", s.quotaQueued.Load()-queued)
		}
		time.Sleep(time.Millisecond)
	}
	free()
	wg.Wait()
	if n := s.quotaCommits.Load() - before; n > 2 {
		t.Errorf("%d leases took %d commits; want them grouped into at most 2", callers, n)
	}
	for i := range callers {
		if got, err := s.QuotaReserved(context.Background(), gcKey(i)); err != nil || got != int64(i+1) {
			t.Errorf("key %d: QuotaReserved = %d, %v; want %d", i, got, err, i+1)
		}
	}
}

// BenchmarkFirstLeases reserves a first lease for new keys, as a cold start does: one caller at
// a time (the cost of one durable commit) next to 64 at once (what group commit shares).
func BenchmarkFirstLeases(b *testing.B) {
	for _, callers := range []int{1, 64} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			s := openAt(b, filepath.Join(b.TempDir(), "tollgate.db"))
			b.SetParallelism(max(callers/4, 1)) // × GOMAXPROCS goroutines
			if callers == 1 {
				for i := range b.N {
					if _, _, err := s.ReserveQuota(context.Background(), gcKey(i), 1000, 1e9); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				var next sync.Mutex
				n := 0
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						next.Lock()
						i := n
						n++
						next.Unlock()
						if _, _, err := s.ReserveQuota(context.Background(), gcKey(i), 1000, 1e9); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			b.ReportMetric(float64(b.N)/float64(max(s.quotaCommits.Load(), 1)), "leases/commit")
		})
	}
}
