package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// session is a signed-in user. Its secret never leaves the server: pages and cookies carry the
// session id and the CSRF token only.
type session struct {
	accessKeyID, secret, region string
	csrf                        string
	expires                     time.Time
}

// sessions maps the SHA-256 of session ids to sessions, so that the table holds no usable
// cookie value.
type sessions struct {
	mu  sync.Mutex
	m   map[[32]byte]*session
	ttl time.Duration
	now func() time.Time
}

// cookieName is the session cookie.
const cookieName = "tollgate_console"

func token() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// start creates a session and returns its id.
func (ss *sessions) start(s *session) string {
	id := token()
	s.csrf, s.expires = token(), ss.now().Add(ss.ttl)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.now()
	for k, old := range ss.m { // drop expired sessions with their secrets
		if !now.Before(old.expires) {
			delete(ss.m, k)
		}
	}
	ss.m[sha256.Sum256([]byte(id))] = s
	return id
}

// get returns the live session of a request, or nil.
func (ss *sessions) get(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return nil
	}
	k := sha256.Sum256([]byte(c.Value))
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[k]
	if s == nil {
		return nil
	}
	if !ss.now().Before(s.expires) {
		delete(ss.m, k)
		return nil
	}
	return s
}

// end drops the request's session.
func (ss *sessions) end(r *http.Request) {
	if c, err := r.Cookie(cookieName); err == nil {
		ss.mu.Lock()
		delete(ss.m, sha256.Sum256([]byte(c.Value)))
		ss.mu.Unlock()
	}
}

// checkCSRF reports whether a write carries the session's token (form field csrf).
func (s *session) checkCSRF(r *http.Request) bool {
	got := r.PostFormValue("csrf")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}

// failures rate-limits sign-in attempts per client address: after maxFailures failures within
// failureWindow, sign-ins from that address are refused until the oldest failure ages out.
type failures struct {
	mu  sync.Mutex
	m   map[string][]time.Time
	now func() time.Time
}

const (
	maxFailures   = 5
	failureWindow = 5 * time.Minute
)

// blocked returns how long the address must wait (0: it may try).
func (f *failures) blocked(addr string) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	recent := f.prune(addr)
	if len(recent) < maxFailures {
		return 0
	}
	return recent[0].Add(failureWindow).Sub(f.now())
}

// maxTracked bounds the addresses tracked: past it, addresses whose failures aged out are
// forgotten first (a spray from many addresses cannot grow the table without limit).
const maxTracked = 100_000

func (f *failures) add(addr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.m) >= maxTracked {
		for a := range f.m {
			f.prune(a)
		}
	}
	f.m[addr] = append(f.prune(addr), f.now())
}

func (f *failures) prune(addr string) []time.Time {
	now := f.now()
	list := f.m[addr]
	for len(list) > 0 && now.Sub(list[0]) >= failureWindow {
		list = list[1:]
	}
	if len(list) == 0 {
		delete(f.m, addr)
		return nil
	}
	f.m[addr] = list
	return list
}

// CSRF, AccessKeyID and Region are what pages show of a session (never its secret).
func (s *session) CSRF() string        { return s.csrf }
func (s *session) AccessKeyID() string { return s.accessKeyID }
func (s *session) Region() string      { return s.region }
