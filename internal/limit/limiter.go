package limit

import (
	"hash/maphash"
	"sync"
	"time"
)

// BucketID names one throttle bucket (spec §6). Fields a scope does not use stay empty:
//
//	usage plan, per key, method entry: Region, PlanID, KeyID, ApiID, Stage, Method
//	usage plan, per key, plan level:   Region, PlanID, KeyID
//	stage method settings:             Region, ApiID, Stage, Method
//	account:                           Region
//
// Method is the throttle map key, "<resourcePath>/<METHOD>" (or "*/*").
type BucketID struct {
	Region string
	PlanID string
	KeyID  string
	ApiID  string
	Stage  string
	Method string
}

// Limiter decides requests against named buckets whose limits travel with each call, so the
// caller's configuration snapshot stays the single source of limits. Implementations MUST:
// create a missing bucket full; keep a bucket's state when the limits passed for it change
// (see Bucket.Configure); admit exactly — with N concurrent callers at one instant, exactly
// burst requests pass; treat rate ≤ 0 as "never refills" and burst ≤ 0 as "admit nothing".
// The local implementation is Local; shared ones (Redis) run limittest too.
type Limiter interface {
	Allow(id BucketID, rate float64, burst int64, now time.Time) Decision
}

// shards spreads the registry's locks so concurrent requests for different buckets rarely meet.
const shards = 64

// Local is the in-process Limiter: a registry of Buckets. Lookups take one shard's read lock;
// the decision itself is Bucket's lock-free CAS. The data plane may also bind *Bucket pointers
// from Bucket once per snapshot and skip the lookup entirely. Buckets are never evicted.
type Local struct {
	seed   maphash.Seed
	shards [shards]shard
}

type shard struct {
	mu sync.RWMutex
	m  map[BucketID]*Bucket
	_  [64]byte // keep neighbouring shards' locks off one cache line
}

var _ Limiter = (*Local)(nil)

// NewLocal returns an empty registry.
func NewLocal() *Local {
	l := &Local{seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].m = map[BucketID]*Bucket{}
	}
	return l
}

// Allow decides one request against bucket id with the given limits.
func (l *Local) Allow(id BucketID, rate float64, burst int64, now time.Time) Decision {
	ns := now.UnixNano()
	return l.Bucket(id, rate, burst, ns).Decide(ns)
}

// Bucket returns the bucket of id, creating it full, or reconfiguring it (state kept) when its
// limits differ from rate and burst. The pointer stays valid for the Local's lifetime.
func (l *Local) Bucket(id BucketID, rate float64, burst int64, now int64) *Bucket {
	sh := &l.shards[l.hash(&id)%shards]
	sh.mu.RLock()
	b := sh.m[id]
	sh.mu.RUnlock()
	if b == nil {
		sh.mu.Lock()
		if b = sh.m[id]; b == nil {
			b = NewBucket(rate, burst, now)
			sh.m[id] = b
		}
		sh.mu.Unlock()
	}
	b.Follow(rate, burst, now)
	return b
}

// Len returns the number of buckets held.
func (l *Local) Len() int {
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}

// hash picks a shard from the fields that vary most between buckets (the map hashes the whole
// id again; hashing every field here too would double the lookup cost).
func (l *Local) hash(id *BucketID) uint64 {
	return maphash.String(l.seed, id.KeyID) ^ maphash.String(l.seed, id.Method)*31 ^ maphash.String(l.seed, id.Stage)*961
}
