package authorizer

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// Cache keeps authorizer results across snapshots: a management write rebuilds the data plane's
// snapshot, and the results of a stage's authorizers must survive that (a key created must not
// flush every caller's cached policy). A Scope is one authorizer of one stage's deployment at one
// flush epoch: redeploying the stage or FlushStageAuthorizersCache names a new scope, which
// starts empty, and the old one ages out.
type Cache struct {
	mu     sync.Mutex
	scopes map[ScopeKey]*Scope
	now    func() time.Time
}

// ScopeKey names a Scope.
type ScopeKey struct {
	Region, API, Stage, Deployment, Authorizer string
	// Epoch is the stage's authorizer-cache flush count.
	Epoch int64
}

// NewCache returns an empty cache (now nil: time.Now).
func NewCache(now func() time.Time) *Cache {
	if now == nil {
		now = time.Now
	}
	return &Cache{scopes: map[ScopeKey]*Scope{}, now: now}
}

// maxEntries bounds one scope: a client sending a fresh token per request cannot grow memory
// without limit. Past it, expired entries are swept, then the scope starts over.
const maxEntries = 100_000

// idleScope is how long a scope no snapshot binds any more is kept (the longest TTL).
const idleScope = time.Hour

// Scope returns the scope of key, creating it; the snapshot binds it at build time, so
// requests reach it without a lookup. Scopes no build asked for in an hour are dropped.
func (c *Cache) Scope(key ScopeKey, ttl time.Duration) *Scope {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for k, s := range c.scopes {
		if now.Sub(time.Unix(0, s.bound.Load())) > idleScope {
			delete(c.scopes, k)
		}
	}
	s := c.scopes[key]
	if s == nil || s.ttl != ttl {
		s = &Scope{ttl: ttl, seed: maphash.MakeSeed(), m: map[uint64]*entry{}}
		c.scopes[key] = s
	}
	s.bound.Store(now.UnixNano())
	return s
}

// Scope caches the results of one authorizer, keyed by the values of its identity sources.
type Scope struct {
	ttl   time.Duration
	seed  maphash.Seed
	bound atomic.Int64
	mu    sync.RWMutex
	m     map[uint64]*entry
}

type entry struct {
	identity []string
	expires  int64 // Unix ns
	res      *Result
}

// TTL is how long the scope keeps a result (0: it caches nothing).
func (s *Scope) TTL() time.Duration { return s.ttl }

// hash is the identity's key. Values are length-prefixed, so ("ab","c") and ("a","bc") differ.
func (s *Scope) hash(identity []string) uint64 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	for _, v := range identity {
		var n [8]byte
		l := uint64(len(v))
		for i := range n {
			n[i] = byte(l >> (8 * i))
		}
		_, _ = h.Write(n[:])
		_, _ = h.WriteString(v)
	}
	return h.Sum64()
}

// Get returns the cached result for identity at now, if one has not expired. It does not
// allocate.
func (s *Scope) Get(identity []string, now time.Time) *Result {
	if s == nil || s.ttl <= 0 {
		return nil
	}
	k := s.hash(identity)
	s.mu.RLock()
	e := s.m[k]
	s.mu.RUnlock()
	if e == nil || now.UnixNano() >= e.expires || !equal(e.identity, identity) {
		return nil
	}
	return e.res
}

// Put caches a result for identity from now on.
func (s *Scope) Put(identity []string, r *Result, now time.Time) {
	if s == nil || s.ttl <= 0 {
		return
	}
	e := &entry{identity: append([]string(nil), identity...), expires: now.Add(s.ttl).UnixNano(), res: r}
	k := s.hash(identity)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= maxEntries {
		for k, old := range s.m {
			if now.UnixNano() >= old.expires {
				delete(s.m, k)
			}
		}
		if len(s.m) >= maxEntries {
			s.m = map[uint64]*entry{}
		}
	}
	s.m[k] = e
}

// Len is the number of entries held (expired ones included until swept).
func (s *Scope) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.m)
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
