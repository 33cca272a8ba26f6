package redislimit

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tollgate/tollgate/internal/limit"
)

const (
	// maxTau bounds a bucket's debt window to 2^52 ns (≈52 days), where limit.Bucket allows 2^61.
	// Redis runs Lua 5.1, whose only number type is a float64: every quantity the script adds,
	// compares or divides (debt, T, capacity × T, and their sums) must stay below 2^53 to be exact.
	// A bucket whose burst × T exceeds it holds maxTau/T tokens; a rate slower than one token per
	// maxTau never refills. limit.Bucket applies the same two rules at 2^61.
	maxTau = int64(1) << 52
	// frozenT is limit.Bucket's emission interval for buckets that never refill.
	frozenT = int64(time.Second)
)

// params are the limits of one call as the script uses them, computed exactly as limit.Bucket
// computes its own (see limit.newParams) so both admit the same requests.
type params struct {
	rate   string // the configured rate, canonical: the identity Configure compares
	burst  string // the configured burst
	t      int64  // emission interval, ns per token, ≥ 1
	cap    int64  // capacity in tokens
	tau    int64  // cap × t
	frozen bool   // rate ≤ 0 (or too slow to count): never refills
}

func newParams(rate float64, burst int64) params {
	if rate != rate || rate == 0 { // NaN is 0 (as in limit); -0 is 0 so both name one config
		rate = 0
	}
	p := params{rate: strconv.FormatFloat(rate, 'g', -1, 64), burst: strconv.FormatInt(burst, 10)}
	switch f := 1e9 / rate; {
	case !(rate > 0) || f >= float64(maxTau):
		p.t, p.frozen = frozenT, true
	case f < 1:
		p.t = 1
	default:
		p.t = int64(math.Round(f))
	}
	p.cap = min(max(burst, 0), maxTau/p.t)
	p.tau = p.cap * p.t
	return p
}

// report builds the Decision limit.Bucket would return for a bucket with these limits whose
// debt (TAT − clock) is debt after the decision.
func (p *params) report(ok bool, debt int64) limit.Decision {
	debt = max(debt, 0)
	d := limit.Decision{Allowed: ok, Limit: p.cap, Remaining: max((p.tau-debt)/p.t, 0), Reset: time.Duration(debt)}
	switch {
	case d.Remaining > 0:
	case p.frozen || p.cap == 0:
		d.RetryAfter = limit.Forever
	default:
		d.RetryAfter = time.Duration(debt + p.t - p.tau)
	}
	if p.frozen && debt > 0 {
		d.Reset = limit.Forever
	}
	return d
}

// gcra is the whole check, run atomically by Redis. It is limit.Bucket's take + Configure on a
// hash holding the bucket's last configuration and its TAT.
//
// Times are (seconds, nanoseconds) pairs because a Unix time in nanoseconds (~1.8e18) does not
// fit a float64 exactly; the script only ever handles differences between two pairs, which
// stay below 2^53 (see maxTau), so its integer arithmetic is exact.
//
//	KEYS[1]  the bucket
//	ARGV     now_s now_ns rate burst t cap frozen(0|1) grace_ms
//	hash     r b (configured rate, burst)  t c z (interval, capacity, frozen)
//	         fs fn (clock of a frozen bucket: when it was configured)  ts tn (TAT)
//	returns  {allowed(0|1), debt after the decision in ns}
//
// A configuration change translates the state exactly as limit.translate does (same float64
// operations in the same order; math.Round emulated for non-negative values). The key expires
// grace after the bucket is full again, when dropping it changes nothing; a drained bucket that
// never refills is kept without expiry, since expiring it would hand its burst out again.
var gcra = redis.NewScript(`
local E = 1000000000
local key = KEYS[1]
local nows, nown = tonumber(ARGV[1]), tonumber(ARGV[2])
local rate, burst = ARGV[3], ARGV[4]
local t, cap, z = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7] == '1'
local tau = cap * t
local grace = tonumber(ARGV[8])

local h = redis.call('HMGET', key, 'r', 'b', 't', 'c', 'z', 'fs', 'fn', 'ts', 'tn')
local cs, cn = nows, nown
local debt = 0
local fresh = true
if h[1] then
  local ot, oc, oz = tonumber(h[3]), tonumber(h[4]), h[5] == '1'
  local os, on = nows, nown
  if oz then os, on = tonumber(h[6]), tonumber(h[7]) end
  local od = (tonumber(h[8]) - os) * E + (tonumber(h[9]) - on)
  if od < 0 then od = 0 end
  if h[1] == rate and h[2] == burst then
    fresh = false
    debt = od
    cs, cn = os, on
  elseif od > 0 or oc < cap then
    local tokens = oc - od / ot
    if tokens > cap then tokens = cap end
    if tokens < 0 then tokens = 0 end
    local x = (cap - tokens) * t
    local nd = math.floor(x)
    if x - nd >= 0.5 then nd = nd + 1 end
    if nd < 0 then nd = 0 end
    if nd > tau then nd = tau end
    debt = nd
  end
end

local ok = 0
if debt + t <= tau then
  debt = debt + t
  ok = 1
end
if ok == 1 or fresh then
  local x = cn + debt
  local q = math.floor(x / E)
  local r = x - q * E
  if r < 0 then q = q - 1; r = r + E elseif r >= E then q = q + 1; r = r - E end
  if fresh then
    redis.call('HSET', key, 'r', rate, 'b', burst, 't', ARGV[5], 'c', ARGV[6], 'z', ARGV[7],
      'fs', cs, 'fn', cn, 'ts', cs + q, 'tn', r)
  else
    redis.call('HSET', key, 'ts', cs + q, 'tn', r)
  end
  if z and debt > 0 then
    redis.call('PERSIST', key)
  else
    redis.call('PEXPIRE', key, math.ceil(debt / 1000000) + grace)
  end
end
if debt > 4e18 then debt = 4e18 end
return {ok, debt}
`)

// splitNanos splits Unix nanoseconds into whole seconds and a non-negative remainder.
func splitNanos(ns int64) (int64, int64) {
	s, r := ns/1e9, ns%1e9
	if r < 0 {
		s, r = s-1, r+1e9
	}
	return s, r
}

// keyFor names id's bucket: prefix then the six fields joined by '|', trailing empty fields
// dropped. '%', '|', '{' and '}' inside a field are written as %XX, so the encoding is
// injective (a '|' always separates fields) and a method path such as "/pets/{id}/GET" never
// becomes a Redis Cluster hash tag that would pile unrelated buckets onto one slot.
func keyFor(prefix string, id *limit.BucketID) string {
	fields := [...]string{id.Region, id.PlanID, id.KeyID, id.ApiID, id.Stage, id.Method}
	last := len(fields) - 1
	for last >= 0 && fields[last] == "" {
		last--
	}
	n := len(prefix) + last
	for _, f := range fields[:last+1] {
		n += len(f)
	}
	var b strings.Builder
	b.Grow(n + 6)
	b.WriteString(prefix)
	for i, f := range fields[:last+1] {
		if i > 0 {
			b.WriteByte('|')
		}
		for j := 0; j < len(f); j++ {
			switch c := f[j]; c {
			case '%', '|', '{', '}':
				b.WriteByte('%')
				b.WriteByte("0123456789ABCDEF"[c>>4])
				b.WriteByte("0123456789ABCDEF"[c&15])
			default:
				b.WriteByte(c)
			}
		}
	}
	return b.String()
}
