package loopengine

import (
	"bytes"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/tollgate/tollgate/internal/connguard"
	"github.com/tollgate/tollgate/internal/h1"
)

// handoff gives the connection to the fasthttp engine: its descriptor is duplicated into a
// net.Conn, and first (a request already taken from gnet's buffer) and whatever else gnet read
// are put back in front of it, so the fasthttp server reads the stream from the request on.
// The loop's copy closes; the socket lives on in the duplicate.
func (cl *client) handoff(first []byte, why Reason) gnet.Action {
	if cl.c.OutboundBuffered() > 0 {
		// The last response has not all left: gnet would drop what is still buffered when its
		// copy closes. Wait for it (sweep), keeping the request.
		if first != nil {
			cl.pending, cl.pendingWhy = append(cl.pending[:0], first...), why
		}
		cl.flushWait = true
		return gnet.None
	}
	cl.s.e.handoffs[why].Add(1)
	rest, _ := cl.c.Peek(-1)
	prefix := make([]byte, 0, len(cl.pending)+len(first)+len(rest))
	prefix = append(append(append(prefix, cl.pending...), first...), rest...)
	cl.pending = cl.pending[:0]
	fd, err := cl.c.Dup()
	cl.gone = true
	if err != nil {
		cl.s.e.connLog.Log("handing a connection over failed", cl.c.RemoteAddr(), "")
		return gnet.Close
	}
	cl.s.handed.Add(1)
	go cl.s.serveHanded(fd, prefix)
	return gnet.Close
}

// serveHanded serves a handed-over connection on the fasthttp engine, guarded as every other
// listener's connections are (internal/connguard), from the start of its request stream. It
// reaches the fasthttp server through a listener of its own, so that the server's Shutdown
// closes it when idle and waits for it as for any connection it accepted.
func (s *Server) serveHanded(fd int, prefix []byte) {
	defer s.handed.Done()
	c, err := fileConn(fd)
	if err != nil {
		return
	}
	s.give(c, prefix)
}

// give passes a connection, with bytes already read from it, to the fasthttp server.
func (s *Server) give(c net.Conn, prefix []byte) {
	g := connguard.Guard(&prefixConn{Conn: c, pre: prefix}, func(remote net.Addr) {
		s.e.connLog.Log("bare LF in request head", remote, "")
	})
	select {
	case s.handoffs.conns <- g:
	case <-s.handoffs.done:
		_ = c.Close()
	}
}

// handoffListener is the fasthttp server's listener: it accepts the connections loops hand over.
type handoffListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newHandoffListener() *handoffListener {
	return &handoffListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return handoffAddr{} }

type handoffAddr struct{}

func (handoffAddr) Network() string { return "tcp" }
func (handoffAddr) String() string  { return "event-loop handoff" }

// fileConn makes a net.Conn of a duplicated descriptor (it takes ownership of fd).
func fileConn(fd int) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), "")
	defer f.Close()
	return net.FileConn(f)
}

// prefixConn reads pre before the connection.
type prefixConn struct {
	net.Conn
	pre []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.pre) > 0 {
		n := copy(b, p.pre)
		p.pre = p.pre[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

// detach takes the backend connection off the loop once the client has fallen more than 1 MB
// behind: the loop stops reading it (its descriptor is duplicated and gnet's copy closed), so
// the socket's buffer holds the backend back instead of the loop's memory filling. The rest of
// the answer is relayed by a goroutine once the client's output has drained (escape).
func (u *upstream) detach() gnet.Action {
	ex := u.ex
	rest, _ := u.c.Peek(-1)
	ex.upRest = append(ex.upRest[:0], rest...)
	fd, err := u.c.Dup()
	u.ex, ex.u = nil, nil
	u.gone = true
	if err != nil { // the answer can only be cut: the client's closed() reports the request
		_ = ex.cl.c.Close()
		return gnet.Close
	}
	ex.detached, ex.hasDetached, ex.escapeWait = fd, true, true
	return gnet.Close
}

// escape hands a detached answer and its client to a goroutine with blocking I/O, once the
// client's output has drained (gnet drops what is still buffered when its copy closes). The
// client connection comes back to the loops when the answer is complete.
func (ex *exchange) escape() {
	cl := ex.cl
	ex.escapeWait = false
	rest, _ := cl.c.Peek(-1)
	rest = bytes.Clone(rest)
	cfd, err := cl.c.Dup()
	cl.gone = true
	cl.ex = nil
	ufd := ex.detached
	ex.hasDetached = false
	_ = cl.c.Close()
	if err != nil {
		_ = closeFD(ufd)
		cl.s.e.core.Finish(&cl.call, &cl.done)
		cl.l.busy.Add(-1)
		return
	}
	cl.s.handed.Add(1)
	cl.s.e.relays.Add(1)
	r := ex.body
	r.parts = nil
	go cl.relay(ufd, cfd, r, bytes.Clone(ex.upRest), rest, ex.closeClient)
}

// relay copies the rest of an answer from the backend to the client with blocking I/O, then
// reports the request and gives the client back to the loops (or to the fasthttp engine when
// it had pipelined requests, or closes it).
func (cl *client) relay(ufd, cfd int, r bodyRelay, upRest, rest []byte, closeClient bool) {
	s := cl.s
	defer s.handed.Done()
	defer cl.l.busy.Add(-1)
	up, err := fileConn(ufd)
	if err != nil {
		_ = closeFD(cfd)
		s.e.core.Finish(&cl.call, &cl.done)
		return
	}
	defer up.Close()
	c, err := fileConn(cfd)
	if err != nil {
		s.e.core.Finish(&cl.call, &cl.done)
		return
	}
	in := append(make([]byte, 0, 64<<10), upRest...)
	var out []byte
	var rerr error
	complete, reported := false, false
	// last reports the request, then sends the answer's last bytes (reported first, as on the
	// loop: a client that has its whole answer finds it counted).
	last := func(out []byte) bool {
		s.e.core.Finish(&cl.call, &cl.done)
		reported = true
		_, err := c.Write(out)
		return err == nil
	}
	for {
		used, o, done, perr := r.pump(in, out[:0])
		out = o
		if done {
			complete = last(out) && (perr == nil || perr == errExtra)
			break
		}
		if len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				break // the client left
			}
		}
		if perr != nil {
			break
		}
		if rerr != nil {
			if rerr == io.EOF && r.framing == h1.BodyClose {
				complete = last(r.end(out[:0]))
			}
			break
		}
		in = append(in[:0], in[used:]...) // a chunk line cut short waits for its end
		if len(in) == cap(in) {
			break // longer than any chunk line may be: pump would have refused it
		}
		var n int
		n, rerr = up.Read(in[len(in):cap(in)])
		in = in[:len(in)+n]
	}
	if !reported {
		s.e.core.Finish(&cl.call, &cl.done)
	}
	if !complete || closeClient {
		_ = c.Close()
		return
	}
	_ = c.SetDeadline(time.Time{})
	if len(rest) == 0 && s.backToLoop(c) {
		return
	}
	s.give(c, rest) // pipelined requests were read: the fasthttp engine takes them from here
}

// returned marks a connection a relay gave back to the loops (not a new one).
type returned struct{}

// backToLoop gives a client connection whose relayed answer is complete back to the event loops,
// so that one chunked or large answer does not move the connection off the loops for good.
// gnet takes its own duplicate and closes c either way: false means it could not (the loops are
// stopping), and the connection is gone.
func (s *Server) backToLoop(c net.Conn) bool {
	res, err := s.eng.Register(gnet.NewNetConnContext(gnet.NewContext(background, returned{}), c))
	if err != nil {
		return false
	}
	r := <-res
	return r.Err == nil
}

func closeFD(fd int) error { return syscall.Close(fd) }
