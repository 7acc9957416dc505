// Package console is the web console on the admin listener: pending
// approvals (live), the ledger's calls, tools and their pins, the policy,
// client tokens and upstream health. Pages are rendered on the server with
// html/template; the one script and style sheet are embedded and served
// from the console itself (no CDN, no inline script), so it works offline
// and under a strict Content-Security-Policy.
//
// Every page but the login needs a session, made by logging in with the
// admin token (data_dir/admin.token); every POST carries the session's
// CSRF token and, when the browser sends one, an Origin of the console
// itself; the console answers only to loopback host names (a DNS
// rebinding page cannot reach it by another name). No secret value is
// rendered: arguments and results come redacted from the ledger, tokens
// are listed by name (a new token is shown once, to the person who made
// it), and upstream errors are scrubbed by the proxy.
package console

import (
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/drawbridge-mcp/drawbridge/approval"
	"github.com/drawbridge-mcp/drawbridge/audit"
	"github.com/drawbridge-mcp/drawbridge/config"
	"github.com/drawbridge-mcp/drawbridge/policy"
	"github.com/drawbridge-mcp/drawbridge/proxy"
	"github.com/drawbridge-mcp/drawbridge/state"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options are what the console shows and steers.
type Options struct {
	Config     *config.Config
	AdminToken string
	Broker     *approval.Broker
	State      *state.DB
	Audit      *audit.Reader
	Policy     *policy.Engine
	Proxy      *proxy.Server
	Logger     *slog.Logger
	// SessionTTL bounds a login; default 12h.
	SessionTTL time.Duration
}

// Console serves the pages.
type Console struct {
	opts  Options
	pages map[string]*template.Template
	mux   *http.ServeMux

	mu       sync.Mutex
	sessions map[string]*session
}

type session struct {
	csrf    string
	expires time.Time
}

// cookieName is the session cookie.
const cookieName = "drawbridge_console"

// csp allows only the console's own script and styles, no inline code, no
// framing, and forms posting only to the console.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// New prepares the console.
func New(opts Options) (*Console, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	c := &Console{opts: opts, pages: map[string]*template.Template{}, sessions: map[string]*session{}}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	for _, page := range []string{"login", "approvals", "calls", "call", "tools", "tool", "policy", "tokens", "upstreams"} {
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, "templates/"+page+".html")
		if err != nil {
			return nil, err
		}
		c.pages[page] = t
	}
	static, _ := fs.Sub(staticFS, "static")
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /login", c.loginPage)
	mux.HandleFunc("POST /login", c.login)
	mux.HandleFunc("POST /logout", c.authed(c.logout))
	mux.HandleFunc("GET /{$}", c.authed(func(w http.ResponseWriter, r *http.Request, _ *session) {
		http.Redirect(w, r, "/approvals", http.StatusSeeOther)
	}))
	mux.HandleFunc("GET /approvals", c.authed(c.approvals))
	mux.HandleFunc("GET /approvals/list", c.authed(c.approvalList))
	mux.HandleFunc("GET /approvals/events", c.authed(c.approvalEvents))
	mux.HandleFunc("POST /approvals/{id}/{verb}", c.authed(c.settle))
	mux.HandleFunc("GET /calls", c.authed(c.calls))
	mux.HandleFunc("GET /calls/{id}", c.authed(c.call))
	mux.HandleFunc("GET /tools", c.authed(c.tools))
	mux.HandleFunc("GET /tools/{server}/{tool}", c.authed(c.tool))
	mux.HandleFunc("POST /tools/{server}/{tool}/accept", c.authed(c.accept))
	mux.HandleFunc("GET /policy", c.authed(c.policy))
	mux.HandleFunc("POST /policy/eval", c.authed(c.policyEval))
	mux.HandleFunc("GET /tokens", c.authed(c.tokens))
	mux.HandleFunc("POST /tokens", c.authed(c.createToken))
	mux.HandleFunc("POST /tokens/{name}/revoke", c.authed(c.revokeToken))
	mux.HandleFunc("GET /upstreams", c.authed(c.upstreams))
	c.mux = mux
	return c, nil
}

// ServeHTTP answers a console request.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin") // not no-referrer: it makes browsers send "Origin: null" on the console's own forms
	h.Set("Cache-Control", "no-store")
	if !loopbackHost(r.Host) {
		http.Error(w, "the console answers only to a loopback host name (127.0.0.1, [::1] or localhost)", http.StatusMisdirectedRequest)
		return
	}
	if r.Method == http.MethodPost && !sameOrigin(r) {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	c.mux.ServeHTTP(w, r)
}

// loopbackHost reports whether a Host header names loopback.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sameOrigin refuses a POST whose Origin (or, without one, Referer) names
// another site; browsers send Origin on every cross-origin POST.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		return origin == "" // "null": a sandboxed or opaque origin
	}
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	return strings.EqualFold(origin, scheme+r.Host)
}

// authed wraps a handler that needs a session, and on POST a matching CSRF
// token. A GET without a session goes to the login page.
func (c *Console) authed(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := c.session(r)
		if s == nil {
			if r.Method == http.MethodGet && r.Header.Get("Accept") != "text/event-stream" {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			http.Error(w, "log in first", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(s.csrf)) != 1 {
				http.Error(w, "missing or wrong CSRF token: reload the page and try again", http.StatusForbidden)
				return
			}
		}
		h(w, r, s)
	}
}

func (c *Console) session(r *http.Request) *session {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.sessions[ck.Value]
	if !ok {
		return nil
	}
	if time.Now().After(s.expires) {
		delete(c.sessions, ck.Value)
		return nil
	}
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "login", nil, map[string]any{})
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(r.PostForm.Get("token"))), []byte(c.opts.AdminToken)) != 1 {
		time.Sleep(250 * time.Millisecond) // a guesser gets four tries a second
		c.render(w, r, http.StatusUnauthorized, "login", nil, map[string]any{"Error": "That is not the admin token (it is in data_dir/admin.token)."})
		return
	}
	id := randomHex(32)
	c.mu.Lock()
	for k, s := range c.sessions { // forget expired sessions as new ones come
		if time.Now().After(s.expires) {
			delete(c.sessions, k)
		}
	}
	c.sessions[id] = &session{csrf: randomHex(32), expires: time.Now().Add(c.opts.SessionTTL)}
	c.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int(c.opts.SessionTTL.Seconds())})
	c.opts.Logger.Info("console login", "remote", r.RemoteAddr)
	http.Redirect(w, r, "/approvals", http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, _ *session) {
	if ck, err := r.Cookie(cookieName); err == nil {
		c.mu.Lock()
		delete(c.sessions, ck.Value)
		c.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// render executes a page inside the layout.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page string, s *session, data map[string]any) {
	data["Page"] = page
	if s != nil {
		data["CSRF"] = s.csrf
		data["LoggedIn"] = true
	}
	var b strings.Builder
	if err := c.pages[page].ExecuteTemplate(&b, "layout", data); err != nil {
		c.opts.Logger.Error("console page", "page", page, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// fail renders an error on the layout, naming what went wrong.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, status int, page, msg string, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	data["Error"] = msg
	c.render(w, r, status, page, s, data)
}
