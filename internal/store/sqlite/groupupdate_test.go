package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

// Concurrent Updates share commits, yet each is all or nothing on its own: a failing write, a
// panicking one and one whose caller gave up change nothing, and every other write lands, in
// the change log too.
func TestGroupCommitIsolatesWrites(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "g.db"))
	ctx := context.Background()
	const writers = 48
	errBoom := errors.New("boom")
	gone, cancel := context.WithCancel(ctx)
	cancel()
	var wg sync.WaitGroup
	results := make([]error, writers)
	panics := make([]any, writers)
	for i := range writers {
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			c := ctx
			if i%12 == 5 {
				c = gone
			}
			results[i] = s.Update(c, "us-east-1", func(tx store.Tx) error {
				if err := tx.PutApiKey(&apigw.ApiKey{ID: fmt.Sprint("k", i), Value: fmt.Sprintf("group-value-%03d-0123456789", i), Enabled: true}); err != nil {
					return err
				}
				switch i % 12 {
				case 3:
					return errBoom
				case 7:
					panic("fn panicked")
				}
				return nil
			})
		})
	}
	wg.Wait()
	want := 0
	for i := range writers {
		var got *apigw.ApiKey
		err := s.View(ctx, "us-east-1", func(tx store.Tx) error {
			var err error
			got, err = tx.GetApiKey(fmt.Sprint("k", i))
			return err
		})
		switch i % 12 {
		case 3:
			if !errors.Is(results[i], errBoom) || !errors.Is(err, store.ErrNotFound) {
				t.Errorf("writer %d (fn error): Update = %v, stored %v", i, results[i], got)
			}
		case 5:
			if !errors.Is(results[i], context.Canceled) || !errors.Is(err, store.ErrNotFound) {
				t.Errorf("writer %d (gone): Update = %v, stored %v", i, results[i], got)
			}
		case 7:
			if panics[i] != "fn panicked" || !errors.Is(err, store.ErrNotFound) {
				t.Errorf("writer %d (panic): recovered %v, stored %v", i, panics[i], got)
			}
		default:
			want++
			if results[i] != nil || err != nil || panics[i] != nil {
				t.Errorf("writer %d: Update = %v, read %v, panic %v", i, results[i], err, panics[i])
			}
		}
	}
	changes, _, complete, err := s.ChangesSince(ctx, 0, 1000)
	if err != nil || !complete {
		t.Fatal(err, complete)
	}
	logged := map[string]bool{}
	for _, c := range changes {
		logged[c.ID] = true
	}
	if len(logged) != want {
		t.Errorf("%d keys in the change log, want the %d that landed", len(logged), want)
	}
}

// BenchmarkConcurrentUpdates: 16 writers each inserting a key per Update, one fsync per group.
func BenchmarkConcurrentUpdates(b *testing.B) {
	s := openAt(b, filepath.Join(b.TempDir(), "g.db"))
	var mu sync.Mutex
	n := 0
	b.SetParallelism(8) // 16 goroutines on 2 cores
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			n++
			i := n
			mu.Unlock()
			if err := s.Update(context.Background(), "us-east-1", func(tx store.Tx) error {
				return tx.PutApiKey(&apigw.ApiKey{ID: fmt.Sprint("k", i), Value: fmt.Sprintf("bench-value-%09d-0123456789", i), Enabled: true})
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// A write alone in its batch runs without a savepoint; failing, panicking or abandoned, it still
// changes nothing, and the writer goes on with the next.
func TestLoneWriteIsAllOrNothing(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "lone.db"))
	ctx := context.Background()
	gone, cancel := context.WithCancel(ctx)
	cancel()
	errBoom := errors.New("boom")
	for i, tc := range []struct {
		name  string
		ctx   context.Context
		end   func() error
		lands bool
	}{
		{"fails", ctx, func() error { return errBoom }, false},
		{"panics", ctx, func() error { panic("fn panicked") }, false},
		{"caller gone", gone, func() error { return nil }, false},
		{"succeeds", ctx, func() error { return nil }, true},
	} {
		id := fmt.Sprint("lone", i)
		var recovered any
		err := func() error {
			defer func() { recovered = recover() }()
			return s.Update(tc.ctx, "us-east-1", func(tx store.Tx) error {
				if err := tx.PutApiKey(&apigw.ApiKey{ID: id, Value: fmt.Sprintf("lone-value-%03d-0123456789", i), Enabled: true}); err != nil {
					return err
				}
				return tc.end()
			})
		}()
		verr := s.View(ctx, "us-east-1", func(tx store.Tx) error { _, err := tx.GetApiKey(id); return err })
		if tc.lands != (verr == nil) || tc.lands != (err == nil && recovered == nil) {
			t.Errorf("%s: Update = %v, panic %v; stored: %v", tc.name, err, recovered, verr)
		}
	}
}

// A finished write leaves nothing of itself behind: what its fn held becomes garbage (an
// import's state once stayed reachable from the queue's array after the import returned).
func TestFinishedWritesAreCollected(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "gc.db"))
	collected := make(chan struct{})
	func() {
		held := new([1 << 20]byte)
		runtime.AddCleanup(held, func(ch chan struct{}) { close(ch) }, collected)
		if err := s.Update(context.Background(), "us-east-1", func(store.Tx) error {
			held[0] = 1
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}()
	for range 50 {
		runtime.GC()
		select {
		case <-collected:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("what a finished write's fn held is still reachable")
}
