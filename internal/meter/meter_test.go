package meter

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/quota/quotamem"
	"github.com/tollgate/tollgate/internal/store"
)

var (
	day1 = time.Date(2026, 9, 13, 0, 0, 0, 0, time.UTC)
	day2 = day1.AddDate(0, 0, 1)
)

// waitTimeout only guards against a hung test.
const waitTimeout = 10 * time.Second

// fakeSink records what it is given; it fails while fail is set.
type fakeSink struct {
	mu      sync.Mutex
	fail    bool
	calls   int
	totals  map[store.UsageDelta]int64 // by delta with Count zeroed
	flushed chan struct{}              // receives after every successful call, if set
}

func newFakeSink() *fakeSink { return &fakeSink{totals: map[store.UsageDelta]int64{}} }

func (f *fakeSink) AddUsage(_ context.Context, ds []store.UsageDelta) error {
	f.mu.Lock()
	f.calls++
	if f.fail {
		f.mu.Unlock()
		return errors.New("sink down")
	}
	for _, d := range ds {
		n := d.Count
		d.Count = 0
		f.totals[d] += n
	}
	f.mu.Unlock()
	if f.flushed != nil {
		f.flushed <- struct{}{}
	}
	return nil
}

func (f *fakeSink) total(plan, key string, day time.Time) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.totals[store.UsageDelta{Region: "r", PlanID: plan, KeyID: key, Day: day}]
}

func (f *fakeSink) rows() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.totals)
}

func flush(t *testing.T, m *Meter) {
	t.Helper()
	if err := m.Flush(context.Background()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

func TestCountsPerDay(t *testing.T) {
	s := newFakeSink()
	m := New(s, Options{})
	k1, k2 := m.Counter("r", "p", "k1"), m.Counter("r", "p", "k2")
	adds := []struct {
		k  *KeyCounter
		at time.Time
		n  int64
	}{
		{k1, day1.Add(time.Hour), 1},
		{k1, day1.Add(24*time.Hour - 1), 2},
		{k2, day1, 5},
		{k1, day2, 1},                   // rollover: day 2 has its own half of the slot
		{k1, day2.Add(-time.Minute), 4}, // a clock read just before midnight counts on its day
		{k1, day2.Add(time.Hour), 0},    // nothing
	}
	for _, a := range adds {
		a.k.AddN(a.at, a.n)
	}
	flush(t, m)
	for _, w := range []struct {
		key  string
		day  time.Time
		want int64
	}{
		{"k1", day1, 7}, {"k1", day2, 1}, {"k2", day1, 5}, {"k2", day2, 0},
	} {
		if got := s.total("p", w.key, w.day); got != w.want {
			t.Errorf("%s on %v: %d, want %d", w.key, w.day.Format(time.DateOnly), got, w.want)
		}
	}
	if s.rows() != 3 {
		t.Errorf("%d rows written, want 3", s.rows())
	}
	calls := s.calls
	flush(t, m) // nothing new: no call
	if s.calls != calls {
		t.Errorf("an empty Flush called the sink")
	}
}

// Concurrent Adds across a day rollover, with flushes racing them: the sums are exact.
func TestFlushAfterConcurrentAdds(t *testing.T) {
	const goroutines, adds = 8, 5000
	s := newFakeSink()
	m := New(s, Options{})
	keys := []*KeyCounter{m.Counter("r", "p", "a"), m.Counter("r", "p", "b"), m.Counter("r", "q", "a")}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range adds {
				at := day1.Add(23 * time.Hour)
				if i >= adds/2 {
					at = day2.Add(time.Hour)
				}
				keys[(g+i)%len(keys)].Add(at)
			}
		})
	}
	stop := make(chan struct{})
	flusher := make(chan error)
	go func() {
		for {
			select {
			case <-stop:
				flusher <- nil
				return
			default:
				if err := m.Flush(context.Background()); err != nil {
					flusher <- err
					return
				}
			}
		}
	}()
	wg.Wait()
	close(stop)
	if err := <-flusher; err != nil {
		t.Fatal(err)
	}
	flush(t, m)
	var want [3]int64
	for g := range goroutines {
		for i := range adds {
			want[(g+i)%len(keys)]++
		}
	}
	for i, k := range []struct{ plan, key string }{{"p", "a"}, {"p", "b"}, {"q", "a"}} {
		if n := s.total(k.plan, k.key, day1) + s.total(k.plan, k.key, day2); n != want[i] {
			t.Errorf("%s/%s: %d counted, want %d", k.plan, k.key, n, want[i])
		}
	}
	if got := s.total("p", "a", day1) + s.total("p", "b", day1) + s.total("q", "a", day1); got > goroutines*adds/2 {
		t.Errorf("%d counted on day 1, but only %d requests were made then", got, goroutines*adds/2)
	}
}

func TestFailedFlushKeepsCounts(t *testing.T) {
	s := newFakeSink()
	m := New(s, Options{})
	k := m.Counter("r", "p", "k")
	k.AddN(day1, 3)
	s.fail = true
	if err := m.Flush(context.Background()); err == nil {
		t.Fatal("Flush to a failing sink returned nil")
	}
	k.AddN(day1, 2)
	k.AddN(day2, 1)
	want := map[string]map[time.Time]int64{"k": {day1: 5, day2: 1}}
	if got := m.Pending("r", "p"); !reflect.DeepEqual(got, want) {
		t.Fatalf("Pending after a failed flush = %v, want %v", got, want)
	}
	s.fail = false
	flush(t, m)
	if s.total("p", "k", day1) != 5 || s.total("p", "k", day2) != 1 {
		t.Fatalf("after the retry: day 1 %d, day 2 %d; want 5 and 1", s.total("p", "k", day1), s.total("p", "k", day2))
	}
	if got := m.Pending("r", "p"); len(got) != 0 {
		t.Fatalf("Pending after a successful flush = %v", got)
	}
}

func TestPendingIsPerPlan(t *testing.T) {
	m := New(newFakeSink(), Options{})
	m.Counter("r", "p", "k1").AddN(day1, 2)
	m.Counter("r", "p", "k2").AddN(day2, 1)
	m.Counter("r", "q", "k1").AddN(day1, 7)
	m.Counter("r2", "p", "k1").AddN(day1, 9)
	m.Counter("r", "p", "idle")
	want := map[string]map[time.Time]int64{"k1": {day1: 2}, "k2": {day2: 1}}
	if got := m.Pending("r", "p"); !reflect.DeepEqual(got, want) {
		t.Fatalf("Pending = %v, want %v", got, want)
	}
	if got := m.Pending("r", "none"); len(got) != 0 {
		t.Fatalf("Pending of an unknown plan = %v", got)
	}
}

// Run flushes on each tick (the ticker is injected: no real time passes) and stops with its
// context; a final Flush writes what is left.
func TestRunFlushesOnTicks(t *testing.T) {
	s := newFakeSink()
	s.flushed = make(chan struct{}, 4)
	m := New(s, Options{})
	tick := make(chan time.Time)
	intervals := make(chan time.Duration, 1)
	stopped := false
	m.newTicker = func(d time.Duration) (<-chan time.Time, func()) {
		intervals <- d
		return tick, func() { stopped = true }
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		m.Run(ctx)
		close(done)
	}()
	if d := <-intervals; d != time.Second {
		t.Errorf("default interval %v, want 1s", d)
	}
	k := m.Counter("r", "p", "k")
	k.AddN(day1, 4)
	tick <- day1
	select {
	case <-s.flushed:
	case <-time.After(waitTimeout):
		t.Fatal("no flush after a tick")
	}
	if got := s.total("p", "k", day1); got != 4 {
		t.Fatalf("flushed %d, want 4", got)
	}
	k.AddN(day1, 1)
	cancel()
	<-done
	if !stopped {
		t.Error("Run left its ticker running")
	}
	flush(t, m)
	if got := s.total("p", "k", day1); got != 5 {
		t.Fatalf("after the final Flush: %d, want 5", got)
	}
}

// Counts flushed to a store.Counters read back from its Usage per key and day.
func TestFlushReachesTheStore(t *testing.T) {
	c := quotamem.New()
	m := New(c, Options{})
	m.Counter("eu-west-1", "p", "k1").AddN(day1.Add(time.Hour), 3)
	m.Counter("eu-west-1", "p", "k2").AddN(day1.Add(30*time.Hour), 2)
	flush(t, m)
	got, err := c.Usage(context.Background(), "eu-west-1", "p", nil, day1, day2)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[time.Time]int64{"k1": {day1: 3}, "k2": {day2: 2}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Usage = %v, want %v", got, want)
	}
}

func TestAddDoesNotAllocate(t *testing.T) {
	m := New(newFakeSink(), Options{})
	k := m.Counter("r", "p", "k")
	now := day1.Add(time.Hour)
	if n := testing.AllocsPerRun(1000, func() { k.Add(now) }); n != 0 {
		t.Fatalf("Add allocates %v times per call", n)
	}
}

func BenchmarkAdd(b *testing.B) {
	k := New(newFakeSink(), Options{}).Counter("r", "p", "k")
	now := day1.Add(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		k.Add(now)
	}
}

func BenchmarkAddParallel(b *testing.B) {
	k := New(newFakeSink(), Options{}).Counter("r", "p", "k")
	now := day1.Add(time.Hour)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k.Add(now)
		}
	})
}

// TestFlushBuffersNotKeptWhenLarge: a flush reuses its batch buffers while they are small, and
// does not keep a large batch's for the life of the process; either way every count arrives.
func TestFlushBuffersNotKeptWhenLarge(t *testing.T) {
	for _, tc := range []struct {
		keys int
		kept bool
	}{
		{keys: 10, kept: true},
		{keys: keepBatch, kept: true},
		{keys: keepBatch + 1, kept: false},
		{keys: 5000, kept: false},
	} {
		sink := newFakeSink()
		m := New(sink, Options{})
		now := day1.Add(time.Hour)
		for i := range tc.keys {
			m.Counter("r", "p", fmt.Sprintf("k%d", i)).AddN(now, 2)
		}
		if err := m.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := cap(m.deltas) > 0 && cap(m.inflight) > 0; got != tc.kept {
			t.Errorf("%d keys: buffers kept = %v (cap %d, %d), want %v", tc.keys, got, cap(m.deltas), cap(m.inflight), tc.kept)
		}
		if sink.rows() != tc.keys || sink.total("p", "k0", day1) != 2 || sink.total("p", fmt.Sprintf("k%d", tc.keys-1), day1) != 2 {
			t.Errorf("%d keys: sink has %d rows, k0 %d", tc.keys, sink.rows(), sink.total("p", "k0", day1))
		}
	}
}

// BenchmarkFlush10k: one flush of 10,000 keys, each called since the last. Its allocation is the
// batch (a delta and a slot pointer a key), made at its final size.
func BenchmarkFlush10k(b *testing.B) {
	m := New(newFakeSink(), Options{})
	now := day1.Add(time.Hour)
	ks := make([]*KeyCounter, 10000)
	for i := range ks {
		ks[i] = m.Counter("r", "p", fmt.Sprintf("k%05d", i))
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, k := range ks {
			k.Add(now)
		}
		if err := m.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
