package fastengine

import (
	"bufio"
	"errors"
	"io"
	"net"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tollgate/tollgate/internal/dataplane"
)

// roundTrip sends x.req on a pooled connection of hc and reads the response into x.resp, before
// deadline. It replaces HostClient.Do for the data plane because of one decision fasthttp makes
// per client, not per response: with StreamBody every body is streamed (and each response
// allocates its stream and release closures), without it every body is buffered. A proxy wants
// both: relay (stream) set, a body of known length up to smallBody is read whole — most API
// answers — and its connection goes back to the pool at once; a longer, chunked or
// close-delimited body stays on the connection, streamed through x.resp.BodyStream, and the
// connection is released when the relay closes (x.release). Without relay, bodies are read whole
// up to the payload limit (non-proxy integrations render them).
//
// Like HostClient.Do it retries once, on a fresh connection, an idempotent request without a
// streamed body whose keep-alive connection turned out closed before anything was read back.
func roundTrip(hc *fasthttp.HostClient, x *exchange, deadline time.Time, relay bool) error {
	// The path goes out exactly as built; parsing the URI here also makes the request line the
	// origin form, with the Host header (the backend's, or a mapped one) beside it.
	x.req.URI().DisablePathNormalizing = true
	retryable := !x.req.IsBodyStream() && idempotent(x.req.Header.Method())
	for attempt := 0; ; attempt++ {
		retry, err := x.try(hc, deadline, relay)
		if err == nil || !retry || !retryable || attempt > 0 {
			return err
		}
		x.resp.Reset()
	}
}

// idempotent is RFC 9110's list, as fasthttp's default retry rule has it.
func idempotent(method []byte) bool {
	switch string(method) {
	case "GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE":
		return true
	}
	return false
}

// try is one attempt; retry reports a failure that happened before any response byte arrived.
func (x *exchange) try(hc *fasthttp.HostClient, deadline time.Time, relay bool) (retry bool, err error) {
	timeout := time.Until(deadline)
	if timeout <= 0 {
		return false, fasthttp.ErrTimeout
	}
	cc, err := hc.AcquireConn(timeout, x.req.ConnectionClose())
	if err != nil {
		return false, err
	}
	conn := cc.Conn()
	// One deadline for the whole exchange (fasthttp's transport sets two per request).
	if err := conn.SetDeadline(deadline); err != nil {
		hc.CloseConn(cc)
		return true, err
	}
	bw := hc.AcquireWriter(conn)
	err = x.req.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	hc.ReleaseWriter(bw)
	if err != nil {
		hc.CloseConn(cc)
		return !isTimeout(err), err
	}

	x.resp.StreamBody = false
	if x.req.Header.IsHead() {
		x.resp.SkipBody = true
	}
	br := hc.AcquireReader(conn)
	if err := readHead(&x.resp, br); err != nil {
		hc.ReleaseReader(br)
		hc.CloseConn(cc)
		// Nothing came back from a reused connection: the backend had closed it.
		return !isTimeout(err) && (errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, fasthttp.ErrConnectionClosed)), err
	}
	closeConn := x.req.ConnectionClose() || x.resp.ConnectionClose()
	cl := x.resp.Header.ContentLength()
	switch {
	case noBody(&x.resp):
	case !relay || cl >= 0 && cl <= smallBody:
		limit := smallBody
		if !relay {
			limit = dataplane.MaxPayload
		}
		if err := x.resp.ReadBody(br, limit); err != nil {
			hc.ReleaseReader(br)
			hc.CloseConn(cc)
			return false, err
		}
		if cl < 0 && !relay { // chunked: its trailer ends the message
			if err := x.resp.Header.ReadTrailer(br); err != nil {
				hc.ReleaseReader(br)
				hc.CloseConn(cc)
				return false, err
			}
		}
	default:
		// Streamed: the connection stays with the body until the relay is closed; a body not
		// read to its end leaves the connection unusable, so it is closed then.
		x.resp.StreamBody = true
		_ = x.resp.ReadBody(br, 0) // with StreamBody it only attaches the stream
		x.done = func(complete bool) {
			hc.ReleaseReader(br)
			if closeConn || !complete {
				hc.CloseConn(cc)
			} else {
				hc.ReleaseConn(cc)
			}
		}
		return false, nil
	}
	hc.ReleaseReader(br)
	if closeConn {
		hc.CloseConn(cc)
	} else {
		hc.ReleaseConn(cc)
	}
	return false, nil
}

// maxInterim bounds the interim (1xx) responses skipped before the final one.
const maxInterim = 8

var errTooManyInterim = errors.New("too many interim responses")

// readHead reads a response head, skipping interim (1xx) responses other than 101.
func readHead(resp *fasthttp.Response, br *bufio.Reader) error {
	for n := 0; ; n++ {
		if err := resp.Header.Read(br); err != nil {
			return err
		}
		if s := resp.Header.StatusCode(); s < 100 || s > 199 || s == fasthttp.StatusSwitchingProtocols {
			return nil
		}
		if n >= maxInterim {
			return errTooManyInterim
		}
	}
}

// noBody reports a response that has no body whatever its headers say: to HEAD, 1xx, 204, 304.
func noBody(resp *fasthttp.Response) bool {
	s := resp.StatusCode()
	return resp.SkipBody || s < 200 || s == fasthttp.StatusNoContent || s == fasthttp.StatusNotModified
}
