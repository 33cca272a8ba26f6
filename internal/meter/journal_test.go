package meter

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/quota/quotamem"
	"github.com/tollgate/tollgate/internal/store"
)

// flakySink is a store whose commits can fail before applying anything (down) or after
// applying (lostAnswer: the commit landed, its answer did not reach the node).
type flakySink struct {
	*quotamem.Counters
	down, lostAnswer bool
	commits          int
}

func (f *flakySink) CommitUsage(ctx context.Context, journal string, epoch uint64, deltas []store.UsageDelta) error {
	f.commits++
	if f.down {
		return errors.New("store down")
	}
	if err := f.Counters.CommitUsage(ctx, journal, epoch, deltas); err != nil {
		return err
	}
	if f.lostAnswer {
		return errors.New("connection reset after commit")
	}
	return nil
}

func (f *flakySink) UsageEpoch(ctx context.Context, journal string) (uint64, error) {
	if f.down {
		return 0, errors.New("store down")
	}
	return f.Counters.UsageEpoch(ctx, journal)
}

func openJ(t *testing.T, sink JournalSink, path string) (*Meter, Recovery) {
	t.Helper()
	if !journalSupported {
		t.Skip("no usage journal on this system")
	}
	m, rec, err := Open(context.Background(), sink, path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return m, rec
}

// crash ends a Meter the way kill -9 does: no flush; its mapping goes, the file stays.
func crash(t *testing.T, m *Meter) {
	t.Helper()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

func usageOf(t *testing.T, c store.Counters, plan string) map[string]map[time.Time]int64 {
	t.Helper()
	u, err := c.Usage(context.Background(), "r", plan, nil, day1, day2)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// A Flush after Close writes nothing, and an Add racing the shutdown still has its memory.
func TestClosedMeter(t *testing.T) {
	s := &flakySink{Counters: quotamem.New()}
	m, _ := openJ(t, s, filepath.Join(t.TempDir(), "usage.journal"))
	k := m.Counter("r", "p", "k")
	k.AddN(day1, 2)
	flush(t, m)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	k.AddN(day1, 1) // must not fault
	if err := m.Flush(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Flush after Close = %v, want ErrClosed", err)
	}
	if got := usageOf(t, s, "p")["k"][day1]; got != 2 {
		t.Fatalf("store = %d, want the 2 flushed before Close", got)
	}
}

// Every way a process can die around a flush: the restart on the same file makes the store hold
// each admitted request exactly once.
func TestJournalRecoversAfterCrash(t *testing.T) {
	type days = map[time.Time]int64
	for _, tc := range []struct {
		name string
		// run drives the first process; it ends in a crash.
		run          func(t *testing.T, m *Meter, s *flakySink, add func(key string, day time.Time, n int64))
		wantRecovery int64 // requests the restart finds unflushed
	}{
		{"never flushed", func(t *testing.T, m *Meter, s *flakySink, add func(string, time.Time, int64)) {}, 9},
		{"flushed, then more", func(t *testing.T, m *Meter, s *flakySink, add func(string, time.Time, int64)) {
			flush(t, m)
			add("k1", day1, 10)
		}, 10},
		{"died with a batch the store applied", func(t *testing.T, m *Meter, s *flakySink, add func(string, time.Time, int64)) {
			s.lostAnswer = true
			if m.Flush(context.Background()) == nil {
				t.Fatal("Flush with a lost answer returned nil")
			}
			s.lostAnswer = false
		}, 0},
		{"died with a batch the store refused", func(t *testing.T, m *Meter, s *flakySink, add func(string, time.Time, int64)) {
			s.down = true
			if m.Flush(context.Background()) == nil {
				t.Fatal("Flush to a down store returned nil")
			}
			s.down = false
		}, 9},
		{"a lost answer, then more and a flush", func(t *testing.T, m *Meter, s *flakySink, add func(string, time.Time, int64)) {
			s.lostAnswer = true
			_ = m.Flush(context.Background())
			s.lostAnswer = false
			add("k2", day2, 3)
			flush(t, m) // settles the lost batch first
			add("k2", day2, 1)
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "usage.journal")
			s := &flakySink{Counters: quotamem.New()}
			m, _ := openJ(t, s, path)
			want := map[string]days{}
			add := func(key string, day time.Time, n int64) {
				m.Counter("r", "p", key).AddN(day.Add(time.Hour), n)
				if want[key] == nil {
					want[key] = days{}
				}
				want[key][day] += n
			}
			add("k1", day1, 5)
			add("k2", day1, 4)
			tc.run(t, m, s, add)
			crash(t, m)

			m2, rec := openJ(t, s, path)
			defer m2.Close()
			if rec.Requests != tc.wantRecovery || rec.Discarded != "" {
				t.Errorf("recovery = %+v, want %d requests", rec, tc.wantRecovery)
			}
			if got := usageOf(t, s, "p"); !reflect.DeepEqual(got, want) {
				t.Fatalf("store after restart = %v, want %v", got, want)
			}
			if p := m2.Pending("r", "p"); len(p) != 0 {
				t.Errorf("pending after recovery = %v", p)
			}
			// The fresh file counts on: nothing of the old one is counted again.
			m2.Counter("r", "p", "k1").AddN(day1, 1)
			flush(t, m2)
			want["k1"][day1]++
			if got := usageOf(t, s, "p"); !reflect.DeepEqual(got, want) {
				t.Fatalf("store after one more = %v, want %v", got, want)
			}
		})
	}
}

// A flush whose answer is lost is settled by the next one, without a restart: no double count.
func TestLostAnswerIsNotCountedTwice(t *testing.T) {
	s := &flakySink{Counters: quotamem.New()}
	m, _ := openJ(t, s, filepath.Join(t.TempDir(), "usage.journal"))
	defer m.Close()
	k := m.Counter("r", "p", "k")
	k.AddN(day1, 5)
	s.lostAnswer = true
	if m.Flush(context.Background()) == nil {
		t.Fatal("want an error")
	}
	s.lostAnswer = false
	k.AddN(day1, 2)
	flush(t, m)
	flush(t, m)
	if got := usageOf(t, s, "p")["k"][day1]; got != 7 {
		t.Fatalf("store = %d, want 7", got)
	}
}

// The store is down across midnight and the next: today's half of the slot still holds a day
// the store lacks, so today's requests wait on the heap; all arrive once the store is back.
func TestStoreDownForDays(t *testing.T) {
	s := &flakySink{Counters: quotamem.New()}
	m, _ := openJ(t, s, filepath.Join(t.TempDir(), "usage.journal"))
	defer m.Close()
	k := m.Counter("r", "p", "k")
	day3 := day1.AddDate(0, 0, 2)
	s.down = true
	k.AddN(day1, 1)
	k.AddN(day2, 2)
	_ = m.Flush(context.Background())
	k.AddN(day3, 4) // day 3 shares day 1's half, which the store has not got
	_ = m.Flush(context.Background())
	s.down = false
	flush(t, m)
	k.AddN(day3, 8) // the half is free again
	flush(t, m)
	got, err := s.Usage(context.Background(), "r", "p", nil, day1, day3)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[time.Time]int64{"k": {day1: 1, day2: 2, day3: 12}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Usage = %v, want %v", got, want)
	}
}

// Files that must not be trusted: from before the machine booted (pages may be lost), or older
// than what the store has of the journal (a copy). Their counts are dropped, and said so.
func TestUntrustedJournal(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, path string, m *Meter, s *flakySink)
		reason string
	}{
		{"another boot", func(t *testing.T, path string, m *Meter, s *flakySink) {
			copy(m.head.boot[:], "00000000-0000-0000-0000-000000000000")
		}, "booted"},
		{"a copy of an older file", func(t *testing.T, path string, m *Meter, s *flakySink) {
			old, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			flush(t, m)
			crash(t, m)
			if err := os.WriteFile(path, old, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "store has batches"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "usage.journal")
			s := &flakySink{Counters: quotamem.New()}
			m, _ := openJ(t, s, path)
			m.Counter("r", "p", "k").AddN(day1, 5)
			tc.tamper(t, path, m, s)
			before := usageOf(t, s, "p")
			_ = m.Close()
			m2, rec := openJ(t, s, path)
			defer m2.Close()
			if !strings.Contains(rec.Discarded, tc.reason) {
				t.Errorf("Discarded = %q, want it to mention %q", rec.Discarded, tc.reason)
			}
			if got := usageOf(t, s, "p"); !reflect.DeepEqual(got, before) {
				t.Errorf("store = %v, want it untouched: %v", got, before)
			}
		})
	}
}

// A file that is not a journal is set aside, not read and not deleted.
func TestUnreadableJournalIsSetAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "usage.journal")
	if err := os.WriteFile(path, []byte("not a journal"), 0o600); err != nil {
		t.Fatal(err)
	}
	m, rec := openJ(t, &flakySink{Counters: quotamem.New()}, path)
	defer m.Close()
	if !strings.Contains(rec.Discarded, "moved to") {
		t.Errorf("Discarded = %q", rec.Discarded)
	}
	aside, _ := filepath.Glob(path + ".unreadable-*")
	if len(aside) != 1 {
		t.Fatalf("set-aside files: %v", aside)
	}
	if b, _ := os.ReadFile(aside[0]); string(b) != "not a journal" {
		t.Errorf("set-aside file holds %q", b)
	}
}

// Names that do not fit a slot are counted on the heap, and still flushed.
func TestLongNamesCountOnTheHeap(t *testing.T) {
	s := &flakySink{Counters: quotamem.New()}
	var errs []error
	if !journalSupported {
		t.Skip("no usage journal on this system")
	}
	m, _, err := Open(context.Background(), s, filepath.Join(t.TempDir(), "usage.journal"), Options{OnError: func(err error) { errs = append(errs, err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	long := strings.Repeat("k", 100)
	m.Counter("r", "p", long).AddN(day1, 2)
	flush(t, m)
	if got := usageOf(t, s, "p")[long][day1]; got != 2 || len(errs) != 1 {
		t.Fatalf("usage %d, errors %v", got, errs)
	}
}

// The journal grows a chunk at a time; counters in every chunk survive a crash.
func TestJournalGrows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "usage.journal")
	s := &flakySink{Counters: quotamem.New()}
	m, _ := openJ(t, s, path)
	const keys = chunkSlots + 10
	for i := range keys {
		m.Counter("r", "p", "k"+strconv.Itoa(i)).AddN(day1, 1)
	}
	if st, err := os.Stat(path); err != nil || st.Size() != 2*chunkSize {
		t.Fatalf("journal size %v, %v; want %d", st.Size(), err, 2*chunkSize)
	}
	crash(t, m)
	m2, rec := openJ(t, s, path)
	defer m2.Close()
	if rec.Counters != keys || rec.Requests != keys {
		t.Fatalf("recovered %+v, want %d counters", rec, keys)
	}
	if got := len(usageOf(t, s, "p")); got != keys {
		t.Fatalf("%d keys in the store, want %d", got, keys)
	}
	if st, err := os.Stat(path); err != nil || st.Size() != chunkSize {
		t.Fatalf("fresh journal size %v, %v; want %d", st.Size(), err, chunkSize)
	}
}

// The journal file is input: whatever bytes it holds, Open must not crash, and what it recovers
// carries names Tollgate could have written.
func FuzzJournalOpen(f *testing.F) {
	if !journalSupported {
		f.Skip("no usage journal on this system")
	}
	// A version-2 file with one named slot, its name record where it belongs; a version-1 file
	// with one named slot (its name in the slot).
	seed := make([]byte, slotsSize+firstSlot*nameSize+nameSize)
	copy(seed, magic)
	seed[firstSlot*slotSize+48] = 1
	copy(seed[nameOffset(firstSlot):], "\x01\x01\x01rpk")
	f.Add(seed)
	seed1 := make([]byte, 3*slotSizeV1)
	copy(seed1, magicV1)
	copy(seed1[slotSizeV1+48:], "\x01\x01\x01rpk")
	f.Add(seed1)
	f.Add([]byte(magic))
	f.Add([]byte(magicV1))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > chunkSize {
			data = data[:chunkSize]
		}
		file := make([]byte, chunkSize)
		copy(file, data)
		if len(data) >= len(magic) {
			copy(file[40:], bootID()) // trusted boot: exercise the recovery path
		}
		path := filepath.Join(t.TempDir(), "usage.journal")
		if err := os.WriteFile(path, file, 0o600); err != nil {
			t.Fatal(err)
		}
		s := quotamem.New()
		m, _, err := Open(context.Background(), s, path, Options{})
		if err != nil {
			return
		}
		defer func() {
			m.Close()
			m.journal.close() // Close keeps the mapping for the process's life; a fuzz run opens thousands
		}()
		u, _ := s.Usage(context.Background(), "r", "p", nil, time.Unix(0, 0), time.Unix(1<<40, 0))
		for k := range u {
			if !idString(k) {
				t.Fatalf("recovered a key named %q", k)
			}
		}
	})
}

// A journal of the first format (128-byte slots, each holding its name), as a node of an
// earlier release leaves it: Open flushes its counts, then starts a file of the current format,
// in which new counters take their slots.
func TestJournalVersion1Recovered(t *testing.T) {
	if !journalSupported {
		t.Skip("no usage journal on this system")
	}
	file := make([]byte, chunkSize)
	copy(file, magicV1)
	copy(file[24:40], "0123456789abcdef") // the journal's id
	copy(file[40:], bootID())
	for i, c := range []struct {
		name  string
		count uint64
	}{{"\x01\x01\x02rpk1", 5}, {"\x01\x01\x02rpk2", 7}} {
		off := (1 + i) * slotSizeV1
		d := epochDay(day1)
		binary.LittleEndian.PutUint64(file[off+int(d&1)*24:], d<<countBits|c.count) // the day's half's word
		copy(file[off+48:], c.name)
	}
	path := filepath.Join(t.TempDir(), "usage.journal")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	s := &flakySink{Counters: quotamem.New()}
	m, rec := openJ(t, s, path)
	defer m.Close()
	if rec.Counters != 2 || rec.Requests != 12 || rec.Discarded != "" {
		t.Fatalf("recovered %+v, want 2 counters and 12 requests", rec)
	}
	if u := usageOf(t, s, "p"); u["k1"][day1] != 5 || u["k2"][day1] != 7 {
		t.Fatalf("usage %v", u)
	}
	if m.journal.v1 || string(m.head.magic[:]) != magic {
		t.Fatalf("the journal in use is %q", m.head.magic)
	}
	m.Counter("r", "p", "k3").AddN(day1, 1)
	crash(t, m)
	m2, rec := openJ(t, s, path)
	defer m2.Close()
	if rec.Counters != 1 || usageOf(t, s, "p")["k3"][day1] != 1 {
		t.Fatalf("after a crash on the new file: recovered %+v", rec)
	}
}

func TestJournalAddDoesNotAllocate(t *testing.T) {
	m, _ := openJ(t, &flakySink{Counters: quotamem.New()}, filepath.Join(t.TempDir(), "usage.journal"))
	defer m.Close()
	k := m.Counter("r", "p", "k")
	now := day1.Add(time.Hour)
	if n := testing.AllocsPerRun(1000, func() { k.Add(now) }); n != 0 {
		t.Fatalf("Add allocates %v times per call", n)
	}
}

// BenchmarkAddJournal is BenchmarkAdd with the counter in the journal file: the same CAS, on a
// shared file page instead of the heap.
func BenchmarkAddJournal(b *testing.B) {
	if !journalSupported {
		b.Skip("no usage journal on this system")
	}
	m, _, err := Open(context.Background(), quotamem.New(), filepath.Join(b.TempDir(), "usage.journal"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	k := m.Counter("r", "p", "k")
	now := day1.Add(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		k.Add(now)
	}
}

// journalBenchKeys skips a benchmark where there is no journal, and returns how many counters
// it should make: TOLLGATE_BENCH_JOURNAL_KEYS, default 100,000.
func journalBenchKeys(b *testing.B) int {
	if !journalSupported {
		b.Skip("no usage journal on this system")
	}
	if v, err := strconv.Atoi(os.Getenv("TOLLGATE_BENCH_JOURNAL_KEYS")); err == nil && v > 0 {
		return v
	}
	return 100_000
}

// BenchmarkReopen measures a restart's look at the journal a clean stop left: every slot
// named, every count flushed, so nothing to recover. TOLLGATE_BENCH_JOURNAL_KEYS sets the
// number of counters (default 100,000; a million keys in use leave a million slots).
func BenchmarkReopen(b *testing.B) {
	n := journalBenchKeys(b)
	ctx := context.Background()
	sink := &flakySink{Counters: quotamem.New()}
	path := filepath.Join(b.TempDir(), "usage.journal")
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		m, _, err := Open(ctx, sink, path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		for k := range n {
			m.Counter("us-east-1", "plan01", "key"+strconv.Itoa(k)).AddN(day1, 1)
		}
		if err := m.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		m.Close()
		b.StartTimer()
		m, rec, err := Open(ctx, sink, path, Options{})
		if err != nil || rec.Counters != 0 {
			b.Fatalf("Open: %v, %+v", err, rec)
		}
		b.StopTimer()
		m.Close()
	}
}

// BenchmarkFlushIdle measures a Flush that finds little to send among many counters in use:
// what a real-time GetUsage waits for on a node where TOLLGATE_BENCH_JOURNAL_KEYS (default
// 100,000) keys have been called and 16 were called since the last flush. Each counter lives
// in a 64-byte object of its own, as in the data plane's key states.
func BenchmarkFlushIdle(b *testing.B) {
	n := journalBenchKeys(b)
	ctx := context.Background()
	m, _, err := Open(ctx, quotamem.New(), filepath.Join(b.TempDir(), "usage.journal"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	type state struct {
		_ [4]uint64
		k KeyCounter
	}
	states := make([]*state, n)
	for i := range states {
		states[i] = &state{}
		m.Init(&states[i].k, "us-east-1", "plan01", "key"+strconv.Itoa(i))
		states[i].k.AddN(day1, 1)
	}
	if err := m.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		for i := range 16 {
			states[i*(n/16)].k.AddN(day1, 1)
		}
		if err := m.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFlushWalksEveryChunk: a flush finds the counts of counters in every chunk of the journal,
// the last one partly used, and of counters kept on the heap beside them, each once.
func TestFlushWalksEveryChunk(t *testing.T) {
	if !journalSupported {
		t.Skip("no usage journal on this system")
	}
	ctx := context.Background()
	c := quotamem.New()
	m, _, err := Open(ctx, c, filepath.Join(t.TempDir(), "usage.journal"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	const n = 2*chunkSlots + 5
	want := map[string]map[time.Time]int64{}
	for i := range n {
		id := "k" + strconv.Itoa(i)
		m.Counter("r", "p", id).AddN(day1, int64(i%7+1))
		want[id] = map[time.Time]int64{day1: int64(i%7 + 1)}
	}
	// A name too long for a journal record: counted on the heap.
	long := strings.Repeat("x", nameSize)
	m.Counter("r", "p", long).AddN(day1, 3)
	want[long] = map[time.Time]int64{day1: 3}
	if got := m.Counters(); got != n+1 {
		t.Fatalf("Counters() = %d, want %d", got, n+1)
	}
	flush(t, m)
	flush(t, m) // nothing new: adds nothing
	if got := usageOf(t, c, "p"); !reflect.DeepEqual(got, want) {
		t.Fatalf("the store has %d keys' usage, want %d (first differences hidden)", len(got), len(want))
	}
}
