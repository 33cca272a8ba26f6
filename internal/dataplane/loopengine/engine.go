// Package loopengine serves the data plane on event loops (panjf2000/gnet/v2), the way nginx
// does: one loop per core reads every ready socket after one epoll_wait, parses the request
// itself (internal/h1), admits it through the same dataplane.Core as the other engines, and
// runs its integration over an upstream connection registered on the same loop. A request and its
// upstream exchange never leave the loop's thread: no goroutine per connection, no park and
// wake, no lock. Measured in bench (issue 12): the probe on this design beat nginx where the
// goroutine engines reached 0.6–0.8× of it.
//
// A loop must never wait. What it cannot finish without waiting goes elsewhere, correct by
// construction rather than re-implemented:
//   - a whole connection is handed to the fasthttp engine (its descriptor duplicated, the bytes
//     already read put back in front) when a request is not an invocation (the management API),
//     has a chunked or large body or Expect: 100-continue, or its method needs an authorizer, a
//     signature check, Lambda or TLS to the backend (the Core says so before it counts
//     anything: Call.NoWait);
//   - a quota that needs the ledger (no lease on hand) is decided on a goroutine, and the
//     request then resumes on its loop (Core.Resume);
//   - an answer whose client falls more than 1 MB behind is relayed on by a goroutine with
//     blocking I/O, so a slow client holds back the backend instead of filling the loop's
//     memory; the client connection returns to the loops afterwards.
//
// Answers are relayed as they arrive, whatever their framing: a chunked one is decoded and
// framed again (internal/h1's decoder), one that runs to the close is sent chunked. A non-proxy
// HTTP integration's answer is collected whole instead (at most the 10 MB payload limit) and
// selects and renders its integration response through the Core.
//
// Only plain-HTTP listeners run on loops: TLS is served by the fasthttp engine.
package loopengine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/logging"

	"github.com/tollgate/tollgate/internal/dataplane"
	"github.com/tollgate/tollgate/internal/dataplane/fastengine"
	"github.com/tollgate/tollgate/internal/obs"
)

// Limits, the same as the other engines'.
const (
	headerTimeout = 10 * time.Second
	bodyTimeout   = 5 * time.Minute
	idleTimeout   = 2 * time.Minute
	// maxLoopBody: a request body up to this size (declared by Content-Length) is read into the
	// loop's buffer and forwarded whole; a larger one streams on the fasthttp engine.
	maxLoopBody = 64 << 10
	// maxLoopResponse is how far a client may fall behind an answer relayed on the loop (bytes
	// gnet holds for it): past it, the rest is relayed by a goroutine, which the slow client
	// holds back together with the backend.
	maxLoopResponse = 1 << 20
	// upstreamIdle is how long a kept-alive backend connection waits in its loop's pool for
	// another request (the fasthttp engine's MaxIdleConnDuration).
	upstreamIdle = 90 * time.Second
	// tick is how often each loop checks its timers (integration, header, idle timeouts).
	tick = 20 * time.Millisecond
)

// Engine serves a Core on event loops.
type Engine struct {
	core    *dataplane.Core
	fast    *fastengine.Engine
	log     *slog.Logger
	connLog *obs.ConnLog
	loops   int
	offLoop bool
	// timeouts in nanoseconds, for the loops' clocks
	headerTimeout, bodyTimeout, idleTimeout int64
	handoffs                                [numReasons]atomic.Uint64
	relays                                  atomic.Uint64
}

// Reason is why a loop handed a connection to the fasthttp engine.
type Reason uint8

// The reasons a connection leaves the loops.
const (
	// ReasonManagement: a request that is not an invocation (the management API, the console).
	ReasonManagement Reason = iota
	// ReasonBody: a chunked body, one over 64 KB, or Expect: 100-continue.
	ReasonBody
	// ReasonMethod: a method a loop cannot finish without waiting (authorizer, AWS_IAM, Lambda,
	// an https backend).
	ReasonMethod
	// ReasonTarget: a request-target that is not a path (absolute, authority or asterisk form).
	ReasonTarget
	// ReasonCounters: every request, since throttles are shared through Redis (--counters).
	ReasonCounters
	numReasons
)

// String is the reason's metric label.
func (r Reason) String() string {
	return [...]string{"management", "body", "method", "target", "counters"}[r]
}

// Stats are what an operator choosing this engine wants to know: how much traffic left the
// loops, and why.
type Stats struct {
	// Handoffs counts connections handed to the fasthttp engine, by Reason.
	Handoffs [numReasons]uint64
	// Relays counts answers whose rest was relayed off the loops because the client fell 1 MB
	// behind.
	Relays uint64
}

// Stats reads the engine's counters (every server's).
func (e *Engine) Stats() Stats {
	var s Stats
	for i := range s.Handoffs {
		s.Handoffs[i] = e.handoffs[i].Load()
	}
	s.Relays = e.relays.Load()
	return s
}

// Options configure an Engine.
type Options struct {
	Log     *slog.Logger
	ConnLog *obs.ConnLog
	// Fast serves the connections and responses a loop hands over.
	Fast *fastengine.Engine
	// Loops is the number of event loops (0: one per CPU the process may use).
	Loops int
	// OffLoop hands every request over (a shared Redis limiter answers over the network, which
	// a loop must not wait for).
	OffLoop bool
	// Timeouts of a request head, of a request body, and of an idle connection (0: 10 s,
	// 5 min, 2 min, as on the other engines).
	HeaderTimeout, BodyTimeout, IdleTimeout time.Duration
}

// New returns an event-loop engine over core.
func New(core *dataplane.Core, o Options) *Engine {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.ConnLog == nil {
		o.ConnLog = obs.NewConnLog(o.Log, 10, 20)
	}
	if o.Fast == nil {
		o.Fast = fastengine.New(core, fastengine.Options{Log: o.Log, ConnLog: o.ConnLog})
	}
	if o.Loops <= 0 {
		o.Loops = min(runtime.GOMAXPROCS(0), runtime.NumCPU())
	}
	if o.HeaderTimeout <= 0 {
		o.HeaderTimeout = headerTimeout
	}
	if o.BodyTimeout <= 0 {
		o.BodyTimeout = bodyTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = idleTimeout
	}
	return &Engine{core: core, fast: o.Fast, log: o.Log, connLog: o.ConnLog, loops: o.Loops, offLoop: o.OffLoop,
		headerTimeout: int64(o.HeaderTimeout), bodyTimeout: int64(o.BodyTimeout), idleTimeout: int64(o.IdleTimeout)}
}

// Server is one listener's loops. It has net/http's Serve and Shutdown, so the command runs it
// as it runs the other engines' servers.
type Server struct {
	e    *Engine
	mgmt bool
	// fast serves the connections handed over (the management API too, on the main listener).
	fast     fastengine.Server
	handoffs *handoffListener

	eng     gnet.Engine
	booted  chan struct{}
	bootErr error
	once    sync.Once

	loops    sync.Map // gnet.EventLoop → *loop
	accepted atomic.Int64
	handed   sync.WaitGroup
	draining atomic.Bool
}

// NewServer returns the server of a listener: invocations on the loops, every other request
// handed with its connection to mgmt, a net/http handler (nil: a data-plane-only listener).
func (e *Engine) NewServer(mgmt http.Handler) *Server {
	return &Server{e: e, mgmt: mgmt != nil, fast: e.fast.NewServer(mgmt), handoffs: newHandoffListener(), booted: make(chan struct{})}
}

// Serve runs the loops on ln's address until Shutdown. gnet binds its own socket: ln is closed
// first and its address bound again at once (SO_REUSEADDR), so a port chosen by the kernel
// (":0") is kept.
func (s *Server) Serve(ln net.Listener) error {
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return err
	}
	go func() { _ = s.fast.Serve(s.handoffs) }()
	err := gnet.Run(s, "tcp://"+addr,
		gnet.WithMulticore(true),
		gnet.WithNumEventLoop(s.e.loops),
		gnet.WithReuseAddr(true),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithTicker(true),
		gnet.WithLoadBalancing(gnet.LeastConnections),
		gnet.WithLogLevel(logging.ErrorLevel),
		gnet.WithLogger(gnetLogger{s.e.connLog}),
	)
	s.once.Do(func() { s.bootErr = err; close(s.booted) })
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("event loops on %s: %w", addr, err)
	}
	return nil
}

// Shutdown lets the requests being served finish (their answers say Connection: close), then
// stops the loops, which closes their connections, and the fasthttp server of the handed-over
// ones, which lets theirs finish; ctx bounds it all.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	select {
	case <-s.booted:
	case <-ctx.Done():
		return ctx.Err()
	}
	if s.bootErr != nil {
		return nil
	}
	for s.busy() > 0 && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	err := s.eng.Stop(ctx)
	if ferr := s.fast.Shutdown(ctx); err == nil {
		err = ferr
	}
	_ = s.handoffs.Close() // the fasthttp server may not have started on it yet
	done := make(chan struct{})
	go func() { s.handed.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
	}
	return err
}

// busy counts the requests being served on every loop (and off them, for the loops' requests).
func (s *Server) busy() (n int64) {
	s.loops.Range(func(_, v any) bool {
		n += v.(*loop).busy.Load()
		return true
	})
	return n
}

// Ready is closed once the loops serve (or Serve failed).
func (s *Server) Ready() <-chan struct{} { return s.booted }

// Accepted counts the client connections accepted, for tests of connection reuse.
func (s *Server) Accepted() *atomic.Int64 { return &s.accepted }

// OnBoot keeps the engine handle for Shutdown.
func (s *Server) OnBoot(eng gnet.Engine) gnet.Action {
	s.eng = eng
	s.once.Do(func() { close(s.booted) })
	return gnet.None
}

// OnShutdown is required by gnet.EventHandler.
func (s *Server) OnShutdown(gnet.Engine) {}

// loopOf returns the state of c's event loop, made on the loop's first connection.
func (s *Server) loopOf(c gnet.Conn) *loop {
	el := c.EventLoop()
	if l, ok := s.loops.Load(el); ok {
		return l.(*loop)
	}
	l, _ := s.loops.LoadOrStore(el, newLoop(s, el))
	return l.(*loop)
}

// OnOpen starts a client connection, or sends the request an upstream connection was dialled
// for.
func (s *Server) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	if u, ok := c.Context().(*upstream); ok {
		return u.opened(c), gnet.None
	}
	if _, back := c.Context().(returned); !back {
		s.accepted.Add(1)
	}
	l := s.loopOf(c)
	cl := &client{c: c, l: l, s: s, idleSince: l.now}
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		cl.peer = a.AddrPort().Addr().Unmap()
	}
	c.SetContext(cl)
	l.clients[cl] = struct{}{}
	return nil, gnet.None
}

// OnClose ends a connection's part in whatever exchange it was in.
func (s *Server) OnClose(c gnet.Conn, err error) gnet.Action {
	switch x := c.Context().(type) {
	case *client:
		x.closed(err)
	case *upstream:
		x.closed(err)
	}
	return gnet.None
}

// OnTraffic reads what arrived on a connection.
func (s *Server) OnTraffic(c gnet.Conn) gnet.Action {
	switch x := c.Context().(type) {
	case *client:
		return x.serve()
	case *upstream:
		return x.answer()
	}
	return gnet.Close
}

// OnTick asks every loop to check its timers, on its own thread.
func (s *Server) OnTick() (time.Duration, gnet.Action) {
	s.loops.Range(func(k, v any) bool {
		_ = k.(gnet.EventLoop).Execute(context.Background(), v.(*loop).sweepFn)
		return true
	})
	return tick, gnet.None
}

// gnetLogger takes gnet's own log lines as classes: they may quote addresses and errors, never
// requests, but the connection log is the one place for them.
type gnetLogger struct{ c *obs.ConnLog }

func (g gnetLogger) Debugf(string, ...any) {}
func (g gnetLogger) Infof(string, ...any)  {}
func (g gnetLogger) Warnf(format string, _ ...any) {
	g.c.Log("event loop: "+format, nil, "")
}
func (g gnetLogger) Errorf(format string, _ ...any) {
	g.c.Log("event loop: "+format, nil, "")
}
func (g gnetLogger) Fatalf(format string, _ ...any) {
	g.c.Log("event loop: "+format, nil, "")
}
