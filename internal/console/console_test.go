package console

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const secret = "s3cr3t-never-shown-0123456789"

// fakeAPI stands for the management API: it accepts requests signed by access key "admin" (it
// reads the key id from the SigV4 header; checking the signature is the real API's job) and counts
// what reaches it.
type fakeAPI struct {
	writes atomic.Int32
	mu     sync.Mutex
	seen   []string
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.seen = append(f.seen, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
	if !strings.Contains(r.Header.Get("Authorization"), "Credential=admin/") {
		w.Header().Set("X-Amzn-Errortype", "UnrecognizedClientException")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"message":"The security token included in the request is invalid."}`)
		return
	}
	if r.Method != http.MethodGet {
		f.writes.Add(1)
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/account":
		_, _ = io.WriteString(w, `{"throttleSettings":{"burstLimit":5000,"rateLimit":10000}}`)
	case r.URL.Path == "/apikeys" && r.Method == http.MethodPost:
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id":"k1","name":"n","enabled":true}`)
	default:
		_, _ = io.WriteString(w, `{"item":[]}`)
	}
}

type fixture struct {
	srv  *httptest.Server
	api  *fakeAPI
	now  atomic.Int64
	logs *bytes.Buffer
	c    *Server
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{api: &fakeAPI{}, logs: &bytes.Buffer{}}
	f.now.Store(time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC).UnixNano())
	var mu sync.Mutex
	f.c = New(Options{API: f.api, Region: "us-east-1", SessionTTL: time.Hour,
		Now: func() time.Time { return time.Unix(0, f.now.Load()) },
		Log: slog.New(slog.NewTextHandler(lockedWriter{&mu, f.logs}, nil))})
	t.Cleanup(f.c.Close)
	f.srv = httptest.NewServer(f.c.Wrap(http.NotFoundHandler()))
	t.Cleanup(f.srv.Close)
	return f
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// browser is a client with a cookie jar that does not follow redirects.
func browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (f *fixture) signIn(t *testing.T, c *http.Client, id, pw string) *http.Response {
	t.Helper()
	resp, err := c.PostForm(f.srv.URL+Prefix+"signin", url.Values{"access_key_id": {id}, "secret_access_key": {pw}, "region": {"us-east-1"}})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (f *fixture) csrf(t *testing.T, c *http.Client) string {
	t.Helper()
	resp, err := c.Get(f.srv.URL + Prefix + "keys")
	if err != nil {
		t.Fatal(err)
	}
	m := csrfRe.FindStringSubmatch(body(t, resp))
	if m == nil {
		t.Fatal("no CSRF token on the keys page")
	}
	return m[1]
}

// TestSignIn: good credentials open a session (HttpOnly, SameSite=Strict cookie; the secret in
// no page, cookie or log line); wrong ones do not, and the sixth failure within five minutes is
// refused without trying, until the window passes.
func TestSignIn(t *testing.T) {
	f := newFixture(t)
	c := browser(t)
	resp := f.signIn(t, c, "admin", secret)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d %s", resp.StatusCode, body(t, resp))
	}
	ck := resp.Cookies()
	if len(ck) != 1 || ck[0].Name != cookieName || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode || ck[0].MaxAge != 3600 ||
		strings.Contains(ck[0].Value, secret) || ck[0].Path != Prefix {
		t.Fatalf("session cookie: %+v", ck)
	}
	for _, path := range []string{"", "plans", "keys"} {
		r, err := c.Get(f.srv.URL + Prefix + path)
		if err != nil {
			t.Fatal(err)
		}
		page := body(t, r)
		if r.StatusCode != 200 || strings.Contains(page, secret) {
			t.Fatalf("/%s: %d, secret shown: %v", path, r.StatusCode, strings.Contains(page, secret))
		}
		if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") {
			t.Fatalf("CSP: %q", csp)
		}
	}

	other := browser(t)
	for i := 0; i < maxFailures; i++ {
		if r := f.signIn(t, other, "intruder", "wrong-secret-9876"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, r.StatusCode)
		}
	}
	before := len(f.api.seen)
	if r := f.signIn(t, other, "admin", secret); r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("sign-in after %d failures: %d", maxFailures, r.StatusCode)
	}
	if len(f.api.seen) != before {
		t.Fatal("a rate-limited sign-in still tried the credentials")
	}
	f.now.Add(int64(failureWindow))
	if r := f.signIn(t, other, "admin", secret); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in after the window: %d", r.StatusCode)
	}
	if strings.Contains(f.logs.String(), secret) || strings.Contains(f.logs.String(), "wrong-secret-9876") {
		t.Fatalf("a secret reached the log:\n%s", f.logs)
	}
	if !strings.Contains(f.logs.String(), "console sign-in refused") || !strings.Contains(f.logs.String(), "access-key-id=admin") {
		t.Fatalf("sign-ins are not recorded:\n%s", f.logs)
	}
}

// TestCSRF: a write without the session's token, or with another session's, is refused and
// reaches nothing; with it, it goes through.
func TestCSRF(t *testing.T) {
	f := newFixture(t)
	c := browser(t)
	f.signIn(t, c, "admin", secret).Body.Close()
	token := f.csrf(t, c)
	d := browser(t)
	f.signIn(t, d, "admin", secret).Body.Close()
	otherToken := f.csrf(t, d)
	for _, tok := range []string{"", "forged", otherToken} {
		resp, err := c.PostForm(f.srv.URL+Prefix+"keys", url.Values{"name": {"n"}, "csrf": {tok}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("write with token %q: %d", tok, resp.StatusCode)
		}
		resp.Body.Close()
	}
	if n := f.api.writes.Load(); n != 0 {
		t.Fatalf("%d refused writes reached the API", n)
	}
	resp, err := c.PostForm(f.srv.URL+Prefix+"keys", url.Values{"name": {"n"}, "csrf": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || f.api.writes.Load() != 1 {
		t.Fatalf("write with the token: %d, %d writes", resp.StatusCode, f.api.writes.Load())
	}
}

// TestSessionEnds: a session ends at its expiry and at sign-out; its cookie then opens nothing.
func TestSessionEnds(t *testing.T) {
	f := newFixture(t)
	c := browser(t)
	f.signIn(t, c, "admin", secret).Body.Close()
	get := func() int {
		r, err := c.Get(f.srv.URL + Prefix + "keys")
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	if s := get(); s != 200 {
		t.Fatalf("signed in: %d", s)
	}
	f.now.Add(int64(time.Hour))
	if s := get(); s != http.StatusSeeOther {
		t.Fatalf("after the session's hour: %d", s)
	}
	f.signIn(t, c, "admin", secret).Body.Close()
	token := f.csrf(t, c)
	u, _ := url.Parse(f.srv.URL + Prefix)
	old := c.Jar.Cookies(u)
	resp, err := c.PostForm(f.srv.URL+Prefix+"signout", url.Values{"csrf": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c.Jar.SetCookies(u, old) // a copy of the cookie kept from before the sign-out
	if s := get(); s != http.StatusSeeOther {
		t.Fatalf("after sign-out with the old cookie: %d", s)
	}
	r, err := c.PostForm(f.srv.URL+Prefix+"keys", url.Values{"name": {"n"}, "csrf": {token}})
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusUnauthorized || f.api.writes.Load() != 0 {
		t.Fatalf("a write with the old session: %d, %d writes", r.StatusCode, f.api.writes.Load())
	}
}

// TestCrossSitePost: a form posted from another origin is refused, sign-in included, and reaches
// nothing.
func TestCrossSitePost(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"signin", "keys"} {
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+Prefix+path, strings.NewReader(url.Values{"access_key_id": {"admin"}, "secret_access_key": {secret}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
			t.Fatalf("cross-site POST %s: %d %v", path, resp.StatusCode, resp.Cookies())
		}
	}
	if len(f.api.seen) != 0 {
		t.Fatalf("cross-site posts reached the API: %v", f.api.seen)
	}
	// The console's own origin passes.
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+Prefix+"signin", strings.NewReader(url.Values{"access_key_id": {"admin"}, "secret_access_key": {secret}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", f.srv.URL)
	resp, err := browser(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("same-origin sign-in: %d", resp.StatusCode)
	}
}
