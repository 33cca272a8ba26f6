package accesslog

import (
	"bufio"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Writer is the access log's output. Requests hand it lines through a bounded queue and never
// wait: a full queue drops the line and counts it (Dropped), because a slow disk must not become
// the gateway's latency. One goroutine writes the queue through a 64 KB buffer, flushed when
// the queue runs empty and at least every 200 ms, so a quiet gateway's lines are not held back.
type Writer struct {
	queue   chan *[]byte
	dropped atomic.Uint64
	written atomic.Uint64
	reopen  func() (io.WriteCloser, error) // nil: the output cannot be reopened (stdout)

	mu   sync.Mutex // guards out and bw against Reopen
	out  io.WriteCloser
	bw   *bufio.Writer
	done chan struct{}
	stop chan struct{}
}

// QueueSize is how many lines may wait for the disk before lines are dropped.
const QueueSize = 8192

var lines = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

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
	w := &Writer{queue: make(chan *[]byte, QueueSize), reopen: reopen, out: out,
		bw: bufio.NewWriterSize(out, 64<<10), done: make(chan struct{}), stop: make(chan struct{})}
	go w.run()
	return w
}

// Line returns a buffer to append one line to; hand it to Send.
func Line() *[]byte {
	b := lines.Get().(*[]byte)
	*b = (*b)[:0]
	return b
}

// Send queues a line (a newline is added) or drops it when the queue is full.
func (w *Writer) Send(b *[]byte) {
	*b = append(*b, '\n')
	select {
	case w.queue <- b:
	default:
		w.dropped.Add(1)
		lines.Put(b)
	}
}

// Dropped is how many lines were dropped because the queue was full.
func (w *Writer) Dropped() uint64 { return w.dropped.Load() }

// Written is how many lines were written.
func (w *Writer) Written() uint64 { return w.written.Load() }

func (w *Writer) run() {
	defer close(w.done)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case b := <-w.queue:
			w.mu.Lock()
			w.write(b)
			// Drain what is queued before flushing: one write for a burst of lines.
			for more := true; more; {
				select {
				case b := <-w.queue:
					w.write(b)
				default:
					more = false
				}
			}
			_ = w.bw.Flush()
			w.mu.Unlock()
		case <-tick.C:
			w.mu.Lock()
			_ = w.bw.Flush()
			w.mu.Unlock()
		case <-w.stop:
			w.mu.Lock()
			for more := true; more; {
				select {
				case b := <-w.queue:
					w.write(b)
				default:
					more = false
				}
			}
			_ = w.bw.Flush()
			w.mu.Unlock()
			return
		}
	}
}

func (w *Writer) write(b *[]byte) {
	_, _ = w.bw.Write(*b)
	w.written.Add(1)
	if cap(*b) <= 64<<10 { // a huge line's buffer is not kept
		lines.Put(b)
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
	w.mu.Lock()
	defer w.mu.Unlock()
	_ = w.bw.Flush()
	old := w.out
	w.out = f
	w.bw.Reset(f)
	return old.Close()
}

// ReopenFunc is Reopen, or nil for a nil Writer (access log off), for the SIGHUP list.
func (w *Writer) ReopenFunc() func() error {
	if w == nil {
		return nil
	}
	return w.Reopen
}

// Close writes what is queued and closes the output.
func (w *Writer) Close() error {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.Close()
}
