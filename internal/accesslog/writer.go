package accesslog

import (
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Writer is the access log's output. A request appends its line to one of several in-memory
// shards (picked round-robin, so two requests rarely meet on one shard's mutex) and never waits
// for the disk: a shard that is full drops the line and counts it (Dropped), because a slow disk
// must not become the gateway's latency. One goroutine writes the shards out every 50 ms, or as
// soon as one is half full; requests never wake it otherwise, so logging costs a request an
// append and an uncontended lock, not a goroutine hand-off.
type Writer struct {
	shards  []shard
	next    atomic.Uint32
	dropped atomic.Uint64
	written atomic.Uint64
	kick    chan struct{}
	reopen  func() (io.WriteCloser, error) // nil: the output cannot be reopened (stdout)

	outMu sync.Mutex // guards out against Reopen
	out   io.WriteCloser
	done  chan struct{}
	stop  chan struct{}
}

type shard struct {
	mu    sync.Mutex
	buf   []byte
	lines uint64
	_     [40]byte // keeps neighbouring shards' locks off one cache line
}

// ShardSize is how many bytes of lines a shard holds between writes (50 ms of traffic).
const ShardSize = 256 << 10

// FlushEvery is the longest a line waits in memory.
const FlushEvery = 50 * time.Millisecond

// Open returns a Writer to path: "-" is standard output; a file is opened for appending (mode
// 0640, created if missing) and reopened by Reopen, for log rotation.
func Open(path string) (*Writer, error) {
	if path == "-" {
		return NewWriter(nopCloser{os.Stdout}, nil), nil
	}
	open := func() (io.WriteCloser, error) {
		return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	}
	f, err := open()
	if err != nil {
		return nil, err
	}
	return NewWriter(f, open), nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// NewWriter returns a Writer to out; reopen, if set, replaces out on Reopen.
func NewWriter(out io.WriteCloser, reopen func() (io.WriteCloser, error)) *Writer {
	n := 2 * runtime.GOMAXPROCS(0)
	w := &Writer{shards: make([]shard, n), reopen: reopen, out: out,
		kick: make(chan struct{}, 1), done: make(chan struct{}), stop: make(chan struct{})}
	for i := range w.shards {
		w.shards[i].buf = make([]byte, 0, ShardSize)
	}
	go w.run()
	return w
}

// Log appends r's line in format f (and a newline), or drops it when its shard is full.
func (w *Writer) Log(f *Format, r *Record) {
	s := &w.shards[int(w.next.Add(1))%len(w.shards)]
	s.mu.Lock()
	n := len(s.buf)
	s.buf = append(f.Append(s.buf, r), '\n')
	if len(s.buf) > ShardSize {
		s.buf = s.buf[:n] // the line does not fit: dropped
		s.mu.Unlock()
		w.dropped.Add(1)
		return
	}
	s.lines++
	half := n < ShardSize/2 && len(s.buf) >= ShardSize/2
	s.mu.Unlock()
	if half {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// Dropped is how many lines were dropped because a shard was full.
func (w *Writer) Dropped() uint64 { return w.dropped.Load() }

// Written is how many lines were handed to the output.
func (w *Writer) Written() uint64 { return w.written.Load() }

func (w *Writer) run() {
	defer close(w.done)
	tick := time.NewTicker(FlushEvery)
	defer tick.Stop()
	spare := make([]byte, 0, ShardSize)
	for {
		select {
		case <-tick.C:
		case <-w.kick:
		case <-w.stop:
			w.flush(&spare)
			return
		}
		w.flush(&spare)
	}
}

// flush writes every shard out: each is swapped for the spare buffer under its lock, so requests
// wait at most for a pointer swap, never for the write.
func (w *Writer) flush(spare *[]byte) {
	for i := range w.shards {
		s := &w.shards[i]
		s.mu.Lock()
		if len(s.buf) == 0 {
			s.mu.Unlock()
			continue
		}
		full, lines := s.buf, s.lines
		s.buf, s.lines = (*spare)[:0], 0
		s.mu.Unlock()
		w.outMu.Lock()
		_, _ = w.out.Write(full)
		w.outMu.Unlock()
		w.written.Add(lines)
		*spare = full
	}
}

// Reopen closes and reopens the file (after logrotate moved it); standard output stays.
func (w *Writer) Reopen() error {
	if w.reopen == nil {
		return nil
	}
	f, err := w.reopen()
	if err != nil {
		return err
	}
	w.outMu.Lock()
	defer w.outMu.Unlock()
	old := w.out
	w.out = f
	return old.Close()
}

// ReopenFunc is Reopen, or nil for a nil Writer (access log off), for the SIGHUP list.
func (w *Writer) ReopenFunc() func() error {
	if w == nil {
		return nil
	}
	return w.Reopen
}

// Close writes what is buffered and closes the output.
func (w *Writer) Close() error {
	close(w.stop)
	<-w.done
	w.outMu.Lock()
	defer w.outMu.Unlock()
	return w.out.Close()
}
