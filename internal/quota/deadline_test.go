package quota

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
)

// hangingLedger never answers until the caller gives up, like a store that is down.
type hangingLedger struct{}

func (hangingLedger) ReserveQuota(ctx context.Context, _ Key, _, _ int64) (int64, int64, error) {
	<-ctx.Done()
	return 0, 0, ctx.Err()
}

func (hangingLedger) ReleaseQuota(context.Context, Key, int64) error { return nil }

// A request never waits longer than Options.Deadline for a lease.
func TestTakeHonoursDeadline(t *testing.T) {
	c := New(hangingLedger{}, Options{Deadline: 30 * time.Millisecond})
	defer c.Close(context.Background())
	p := &Policy{Quota: apigw.Quota{Limit: 10, Period: apigw.PeriodDay}}
	start := time.Now()
	ok, err := c.Entry("r", "p", "k").Take(context.Background(), p, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if ok || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Take = %v, %v; want false and a deadline error", ok, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Take waited %v with a 30ms deadline", d)
	}
}
