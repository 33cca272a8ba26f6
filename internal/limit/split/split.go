// Package split shares throttles between Tollgate nodes without a shared counter: each of the N
// live nodes enforces 1/N of every limit in its own buckets, N read on every check from the
// membership table (store.Membership). No request waits on the network, and no node can be
// driven past its share, so the cluster never admits more than one bucket would — at the price
// of under-admitting whenever traffic is not spread evenly over the nodes.
//
// # Shares
//
// With configured rate R (emission interval T = round(1e9/R) ns, as limit.Bucket counts it) and
// burst B, a node's bucket holds floor(B/N) tokens and refills one every N × T ns: exactly R/N
// as limit.Bucket measures rates (once N × T exceeds 2^51 ns ≈ 26 days, where float64 rates
// cannot name every interval, slower by less than 1 part in 2^50). A limit that never refills
// (R ≤ 0) stays so; a share whose interval would exceed 2^60 ns (R below N per 36 years) never
// refills either.
// When N changes, the buckets are reconfigured keeping their tokens (limit.Bucket.Configure):
// a share that grows fills up over time, one that shrinks takes effect at once.
//
// # Error bound
//
// GCRA admits at most cap + w/T requests in any window of length w. With all nodes agreeing on
// N, the cluster therefore admits at most N × floor(B/N) + w/T ≤ B + w/T: never more than a
// single limit.Bucket with the configured limits (which reaches B + floor(w/T) when saturated).
// What it can lose:
//   - Uneven traffic: a node receiving all of a bucket's requests admits at most floor(B/N) +
//     w/(N·T) — a 1/N share; the other nodes' shares go unused. Under a load balancer that
//     spreads a key's requests evenly (round robin), the loss shrinks to the rounding below.
//   - Rounding: B mod N tokens of burst, and less than one token per node in a window, as each
//     node's refills run on their own phase. N = 1 loses nothing.
//   - 1 ≤ B < N gives every node a burst of 0: the bucket admits nothing at all. Options.
//     AtLeastOne trades the bound for availability: each node then holds 1 token, and the
//     cluster may admit up to N − B more than B at one instant (the long-run rate stays ≤ R).
//   - Disagreeing views of N: right after an N-th node joins, the nodes that have not seen it
//     yet still enforce 1/(N−1), so until every view catches up the cluster may admit up to
//     (1 + 1/N) × (B + w/T). After a node dies, the survivors keep enforcing 1/N until its
//     heartbeat expires: under-admission only. A node that registers (and is counted by the
//     others) before it takes traffic turns the join case into under-admission as well.
package split

import (
	"math"
	"time"

	"github.com/tollgate/tollgate/internal/limit"
)

// maxShareT is the longest per-node emission interval given a refilling share: beyond it the
// share is frozen (rate 0). Kept well below limit.Bucket's own 2^61 ns horizon so a share near it
// can never be rounded into a faster one.
const maxShareT = int64(1) << 60

// Options configure a Limiter.
type Options struct {
	// Nodes returns the number of live nodes, this one included. It is called on every check,
	// so it must be cheap (an atomic load of a value a heartbeat loop refreshes). Values below
	// 1 count as 1: a node that runs is alive.
	Nodes func() int
	// Inner enforces the shares (default: a new limit.Local).
	Inner limit.Limiter
	// AtLeastOne gives every node one token of burst when 1 ≤ burst < N, see the package doc.
	AtLeastOne bool
}

// Limiter is a limit.Limiter enforcing this node's share of each limit. Its Decisions describe
// the node's bucket: Limit is the share of the burst, not the configured burst.
type Limiter struct {
	nodes      func() int
	inner      limit.Limiter
	atLeastOne bool
}

var _ limit.Limiter = (*Limiter)(nil)

// New returns a Limiter; o.Nodes is required.
func New(o Options) *Limiter {
	if o.Nodes == nil {
		panic("split: Options.Nodes is required")
	}
	if o.Inner == nil {
		o.Inner = limit.NewLocal()
	}
	return &Limiter{nodes: o.Nodes, inner: o.Inner, atLeastOne: o.AtLeastOne}
}

// Allow decides one request against this node's share of bucket id.
func (l *Limiter) Allow(id limit.BucketID, rate float64, burst int64, now time.Time) limit.Decision {
	r, b := Share(rate, burst, l.nodes(), l.atLeastOne)
	return l.inner.Allow(id, r, b, now)
}

// Share returns one node's rate and burst out of n for the configured limits (see the package
// doc). It is a pure function of its arguments, so an unchanged n never reconfigures a bucket.
func Share(rate float64, burst int64, n int, atLeastOne bool) (float64, int64) {
	if n <= 1 {
		return rate, burst
	}
	return shareRate(rate, n), shareBurst(burst, n, atLeastOne)
}

func shareBurst(burst int64, n int, atLeastOne bool) int64 {
	if burst <= 0 {
		return burst
	}
	b := burst / int64(n)
	if b == 0 && atLeastOne {
		b = 1
	}
	return b
}

// shareRate returns a rate whose limit.Bucket emission interval is exactly n times that of rate,
// so the n shares add up to precisely the single bucket's rate, whatever its rounding to whole
// nanoseconds.
func shareRate(rate float64, n int) float64 {
	if !(rate > 0) {
		return rate // never refills; NaN stays NaN and limit maps it to 0
	}
	t := int64(1) // limit.Bucket counts rates above 1e9/s as one token per ns
	if f := 1e9 / rate; f >= 1 {
		if f >= float64(maxShareT) {
			return 0
		}
		t = int64(math.Round(f))
	}
	if t > maxShareT/int64(n) {
		return 0
	}
	nt := t * int64(n)
	r := 1e9 / float64(nt)
	// limit.Bucket will compute int64(round(1e9/r)), which float64 rounding can put a ns or two
	// off nt. Step r down until the interval is at least nt (never a faster share), then up while
	// it stays so and gets closer. Beyond ~2^51 ns neighbouring float64 rates are more than a
	// ns apart in interval, and the share may end up a few ns slower: under-admission only.
	interval := func(r float64) int64 { return int64(math.Round(1e9 / r)) }
	for interval(r) < nt {
		r = math.Nextafter(r, 0)
	}
	for interval(r) > nt {
		up := math.Nextafter(r, math.Inf(1))
		if interval(up) < nt {
			break
		}
		r = up
	}
	return r
}
