package loopengine

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http/httputil"
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
func (cl *client) handoff(first []byte) gnet.Action {
	if cl.c.OutboundBuffered() > 0 {
		// The last response has not all left: gnet would drop what is still buffered when its
		// copy closes. Wait for it (sweep), keeping the request.
		if first != nil {
			cl.pending = append(cl.pending[:0], first...)
		}
		cl.flushWait = true
		return gnet.None
	}
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

// escape hands an answer the loop should not relay (chunked, running to the close, over 1 MB)
// to a goroutine with blocking I/O: a slow client then holds back the backend, as it would on
// the other engines, instead of the loop buffering the body. Both connections leave the loop
// (duplicated descriptors); the client's continues on the fasthttp engine afterwards.
func (u *upstream) escape() gnet.Action {
	ex := u.ex
	cl := ex.cl
	if cl.c.OutboundBuffered() > 0 {
		ex.escapeWait = true // resumed by sweep once the client's output has drained
		return gnet.None
	}
	ex.escapeWait = false
	delete(u.l.inflight, ex)
	body, _ := u.c.Peek(-1)
	body = bytes.Clone(body[u.resp.HeadLen:])
	rest, _ := cl.c.Peek(-1)
	rest = bytes.Clone(rest)
	chunked := u.resp.Body != h1.BodyLength && cl.req.Minor >= 1
	closeAfter := cl.req.Close || cl.s.draining.Load() || u.resp.Body != h1.BodyLength && !chunked
	head := cl.appendResponseHead(nil, &u.resp, closeAfter, chunked)
	framing, length := u.resp.Body, u.resp.ContentLength
	cl.done.Status, cl.done.Length = u.resp.Status, -1
	if framing == h1.BodyLength {
		cl.done.Length = length
	}
	ufd, uerr := u.c.Dup()
	cfd, cerr := cl.c.Dup()
	u.ex, ex.u = nil, nil
	u.gone = true
	cl.gone = true
	cl.ex = nil
	_ = cl.c.Close()
	if uerr != nil || cerr != nil {
		for _, fd := range []int{ufd, cfd} {
			if fd > 0 {
				_ = closeFD(fd)
			}
		}
		cl.done.Status = 502
		cl.s.e.core.Finish(&cl.call, &cl.done)
		cl.s.inflight.Add(-1)
		return gnet.Close
	}
	cl.s.handed.Add(1)
	go cl.relay(ufd, cfd, head, body, rest, framing, length, chunked, closeAfter)
	return gnet.Close
}

// resumeEscape retries an escape that waited for the client's output to drain.
func (u *upstream) resumeEscape() {
	if u.escape() == gnet.Close && u.c != nil {
		_ = u.c.Close()
	}
}

// relay copies an escaped answer from the backend to the client, then reports the request and
// serves the client's next requests on the fasthttp engine (or closes it).
func (cl *client) relay(ufd, cfd int, head, body, rest []byte, framing h1.Body, length int64, chunked, closeAfter bool) {
	s := cl.s
	defer s.handed.Done()
	up, err := fileConn(ufd)
	if err != nil {
		_ = closeFD(cfd)
		return
	}
	defer up.Close()
	c, err := fileConn(cfd)
	if err != nil {
		return
	}
	src := io.MultiReader(bytes.NewReader(body), up)
	w := bufio.NewWriterSize(c, 32<<10)
	_, _ = w.Write(head)
	complete := false
	switch framing {
	case h1.BodyLength:
		n, _ := io.CopyN(w, src, length)
		complete = n == length
	default:
		if framing == h1.BodyChunked {
			src = httputil.NewChunkedReader(src)
		}
		var dst io.Writer = w
		var cw io.WriteCloser
		if chunked {
			cw = httputil.NewChunkedWriter(w)
			dst = cw
		}
		_, err := io.Copy(dst, src)
		complete = err == nil
		if cw != nil && complete {
			_ = cw.Close()
			_, _ = w.WriteString("\r\n")
		}
	}
	if err := w.Flush(); err != nil {
		complete = false
	}
	s.e.core.Finish(&cl.call, &cl.done)
	s.inflight.Add(-1)
	if !complete || closeAfter {
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
