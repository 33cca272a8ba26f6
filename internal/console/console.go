package console

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/smithy-go"

	"github.com/tollgate/tollgate/internal/reqstats"
)

// Prefix is where the console is served.
const Prefix = "/_tollgate/console/"

//go:embed assets
var assets embed.FS

// Options configure the console.
type Options struct {
	// API is the management API's handler: every console call goes through it.
	API http.Handler
	// Region is the region a sign-in selects by default.
	Region string
	// Stats feeds the overview (nil: no live figures).
	Stats *reqstats.Registry
	// SessionTTL is how long a session lasts (0: 8 hours).
	SessionTTL time.Duration
	// TLS: the console is served over TLS, so the cookie is Secure.
	TLS bool
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Log gets sign-in and sign-out records (nil: slog.Default()).
	Log *slog.Logger
}

// Server serves the console.
type Server struct {
	api      http.Handler
	region   string
	tls      bool
	sessions *sessions
	failures *failures
	tmpl     *template.Template
	mux      *http.ServeMux
	sampler  *sampler
	log      *slog.Logger
	now      func() time.Time
}

// New returns the console. Close stops its overview sampler.
func New(o Options) *Server {
	if o.SessionTTL <= 0 {
		o.SessionTTL = 8 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	s := &Server{api: o.API, region: o.Region, tls: o.TLS, log: o.Log, now: o.Now,
		sessions: &sessions{m: map[[32]byte]*session{}, ttl: o.SessionTTL, now: o.Now},
		failures: &failures{m: map[string][]time.Time{}, now: o.Now},
		sampler:  newSampler(o.Stats, o.Now),
	}
	s.tmpl = template.Must(template.New("").Funcs(funcs).ParseFS(assets, "assets/*.html"))
	s.routes()
	return s
}

// Close stops the sampler.
func (s *Server) Close() { s.sampler.stop() }

// ServeHTTP serves the console's pages. Every answer forbids framing and caching, and pins
// scripts and styles to the console's own.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A form posted from another site is refused before anything reads it: a sign-in forced
	// from elsewhere (login CSRF) as much as a write (which also needs the CSRF token).
	if r.Method == http.MethodPost && !sameOrigin(r) {
		http.Error(w, "Cross-site form posts are refused.", http.StatusForbidden)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r)
}

// Wrap serves the console at Prefix and everything else with next.
func (s *Server) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == strings.TrimSuffix(Prefix, "/") || strings.HasPrefix(r.URL.Path, Prefix) {
			s.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) routes() {
	m := http.NewServeMux()
	p := strings.TrimSuffix(Prefix, "/")
	m.Handle("GET "+Prefix+"assets/", http.StripPrefix(p, http.FileServerFS(assets)))
	m.HandleFunc("GET "+p, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, Prefix, http.StatusFound) })
	m.HandleFunc("GET "+Prefix+"signin", s.signinPage)
	m.HandleFunc("POST "+Prefix+"signin", s.signin)
	m.HandleFunc("POST "+Prefix+"signout", s.auth(s.signout))
	m.HandleFunc("GET "+Prefix+"{$}", s.auth(s.overview))
	m.HandleFunc("GET "+Prefix+"live/overview", s.auth(s.liveOverview))
	m.HandleFunc("GET "+Prefix+"plans", s.auth(s.plans))
	m.HandleFunc("POST "+Prefix+"plans", s.auth(s.createPlan))
	m.HandleFunc("GET "+Prefix+"plans/{id}", s.auth(s.plan))
	m.HandleFunc("POST "+Prefix+"plans/{id}/keys", s.auth(s.addPlanKey))
	m.HandleFunc("POST "+Prefix+"plans/{id}/usage", s.auth(s.grantUsage))
	m.HandleFunc("POST "+Prefix+"plans/{id}/throttle", s.auth(s.methodThrottle))
	m.HandleFunc("POST "+Prefix+"plans/{id}", s.auth(s.updatePlan))
	m.HandleFunc("GET "+Prefix+"import", s.auth(s.importPage))
	m.HandleFunc("POST "+Prefix+"import", s.auth(s.importKeys))
	m.HandleFunc("GET "+Prefix+"keys.csv", s.auth(s.exportKeys))
	m.HandleFunc("POST "+Prefix+"keys/{id}/reveal", s.auth(s.revealKey))
	m.HandleFunc("GET "+Prefix+"apis", s.auth(s.apis))
	m.HandleFunc("GET "+Prefix+"apis/{id}", s.auth(s.apiPage))
	m.HandleFunc("POST "+Prefix+"apis/{id}/throttle", s.auth(s.stageThrottleForm))
	m.HandleFunc("GET "+Prefix+"keys", s.auth(s.keys))
	m.HandleFunc("POST "+Prefix+"keys", s.auth(s.createKey))
	m.HandleFunc("GET "+Prefix+"keys/{id}", s.auth(s.key))
	m.HandleFunc("GET "+Prefix+"keys/{id}/usage", s.auth(s.keyUsage))
	m.HandleFunc("POST "+Prefix+"keys/{id}/{action}", s.auth(s.keyAction))
	s.mux = m
}

// handler is a page for a signed-in user.
type handler func(w http.ResponseWriter, r *http.Request, sess *session)

// auth runs h for a signed-in user (a write only with the session's CSRF token), and sends
// anyone else to the sign-in page.
func (s *Server) auth(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := s.sessions.get(r)
		if sess == nil {
			if r.Method == http.MethodGet && !strings.Contains(r.URL.Path, "/live/") && !strings.HasSuffix(r.URL.Path, "/usage") {
				http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
				return
			}
			http.Error(w, "Your session has ended: sign in again.", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost {
			if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
				r.Body = http.MaxBytesReader(w, r.Body, maxImport+1<<20)
				if err := r.ParseMultipartForm(8 << 20); err != nil {
					http.Error(w, "The upload could not be read (the limit is 64 MB).", http.StatusBadRequest)
					return
				}
			} else {
				r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			}
			if !sess.checkCSRF(r) {
				http.Error(w, "This form has expired or did not come from the console: reload the page and try again.", http.StatusForbidden)
				return
			}
		}
		h(w, r, sess)
	}
}

// page is what every template gets.
type page struct {
	Title   string
	Nav     string
	Session *session
	Flash   string
	Error   string
	Data    any
}

func (s *Server) render(w http.ResponseWriter, status int, name string, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := s.tmpl.ExecuteTemplate(w, name, p); err != nil {
		s.log.Warn("console: rendering a page", "page", name, "err", err)
	}
}

// apiError is the text to show for a failed API call: AWS's error type and message, as the CLI
// shows them.
func apiError(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	return "The request failed: " + err.Error()
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) signinPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "signin", page{Title: "Sign in", Data: s.region})
}

// signin checks the credentials with a signed GetAccount through the management API itself.
func (s *Server) signin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	addr := clientAddr(r)
	if wait := s.failures.blocked(addr); wait > 0 {
		w.Header().Set("Retry-After", itoa(int64(wait/time.Second)+1))
		s.render(w, http.StatusTooManyRequests, "signin", page{Title: "Sign in", Data: s.region,
			Error: "Too many failed sign-ins from your address. Try again in " + wait.Round(time.Second).String() + "."})
		return
	}
	id, secret := strings.TrimSpace(r.PostFormValue("access_key_id")), r.PostFormValue("secret_access_key")
	region := strings.TrimSpace(r.PostFormValue("region"))
	if region == "" {
		region = s.region
	}
	sess := &session{accessKeyID: id, secret: secret, region: region}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if id == "" || secret == "" {
		s.render(w, http.StatusUnauthorized, "signin", page{Title: "Sign in", Data: s.region, Error: "Enter an access key id and its secret."})
		return
	}
	if _, err := s.client(sess).GetAccount(ctx, &apigateway.GetAccountInput{}); err != nil {
		s.failures.add(addr)
		s.log.Info("console sign-in refused", "access-key-id", id, "remote", addr)
		s.render(w, http.StatusUnauthorized, "signin", page{Title: "Sign in", Data: s.region, Error: "The access key id or the secret is wrong."})
		return
	}
	sid := s.sessions.start(sess)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: sid, Path: Prefix, HttpOnly: true, Secure: s.tls,
		SameSite: http.SameSiteStrictMode, MaxAge: int(s.sessions.ttl / time.Second)})
	s.log.Info("console sign-in", "access-key-id", id, "region", region, "remote", addr)
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request, sess *session) {
	s.sessions.end(r)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: Prefix, HttpOnly: true, Secure: s.tls, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	s.log.Info("console sign-out", "access-key-id", sess.accessKeyID)
	http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
}

// sameOrigin reports whether a request's Origin (when the browser sent one) names the console's
// own host. The scheme is not compared: behind a proxy that ends TLS the console sees plain HTTP
// while the browser's origin is https.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}
