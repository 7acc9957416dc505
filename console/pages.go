package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/drawbridge-mcp/drawbridge/approval"
	"github.com/drawbridge-mcp/drawbridge/audit"
	"github.com/drawbridge-mcp/drawbridge/config"
	"github.com/drawbridge-mcp/drawbridge/internal/duration"
	"github.com/drawbridge-mcp/drawbridge/internal/textdiff"
	"github.com/drawbridge-mcp/drawbridge/policy"
	"github.com/drawbridge-mcp/drawbridge/proxy"
	"github.com/drawbridge-mcp/drawbridge/state"
)

var funcs = template.FuncMap{
	"pretty": pretty,
	"short": func(h string) string {
		if len(h) > 19 {
			return h[:19] + "…"
		}
		return h
	},
	"ms": func(p *int64) string {
		if p == nil {
			return "–"
		}
		return strconv.FormatInt(*p, 10) + " ms"
	},
	"left": func(t time.Time) string {
		d := time.Until(t).Round(time.Second)
		if d <= 0 {
			return "0s"
		}
		return d.String()
	},
	"unix":  func(t time.Time) int64 { return t.UnixMilli() },
	"stamp": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
	"join":  strings.Join,
	"list":  func(v ...string) []string { return v },
	"path":  url.PathEscape, // a name as one path segment, whatever it holds
	"dur":   func(d time.Duration) string { return d.Round(time.Millisecond).String() },
}

// pretty indents JSON text for reading, whole; text that is not JSON is
// shown as it is.
func pretty(v any) string {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.RawMessage:
		s = string(x)
	default:
		b, _ := json.Marshal(x)
		s = string(b)
	}
	var b bytes.Buffer
	if json.Indent(&b, []byte(s), "", "  ") != nil {
		return s
	}
	return b.String()
}

// pendingView is a held call as the approvals page shows it.
type pendingView struct {
	state.Approval
	Deadline time.Time // when the waiting caller stops waiting
}

func (c *Console) pending(ctx context.Context) ([]pendingView, error) {
	list, err := c.opts.Broker.Pending(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]pendingView, len(list))
	for i, a := range list {
		out[i] = pendingView{a, a.CreatedAt.Add(c.opts.Config.Approval.Timeout.D())}
	}
	return out, nil
}

func (c *Console) approvals(w http.ResponseWriter, r *http.Request, s *session) {
	list, err := c.pending(r.Context())
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "approvals", err.Error(), nil)
		return
	}
	c.render(w, r, http.StatusOK, "approvals", s, map[string]any{"Pending": list, "Remember": rememberChoices,
		"Notice": r.URL.Query().Get("done")})
}

// approvalList is the pending list alone, for the page's live update.
func (c *Console) approvalList(w http.ResponseWriter, r *http.Request, s *session) {
	list, err := c.pending(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Pending-Count", strconv.Itoa(len(list)))
	if err := c.pages["approvals"].ExecuteTemplate(w, "pending", map[string]any{"Pending": list, "CSRF": s.csrf, "Remember": rememberChoices}); err != nil {
		c.opts.Logger.Error("console pending list", "err", err)
	}
}

var rememberChoices = []string{"", "10m", "1h", "8h", "24h"}

// approvalEvents streams a "change" event whenever the pending list may
// have changed (and a comment every 15s so proxies keep it open).
func (c *Console) approvalEvents(w http.ResponseWriter, r *http.Request, _ *session) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	changed, cancel := c.opts.Broker.Subscribe()
	defer cancel()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	fl.Flush()
	beat := time.NewTicker(15 * time.Second)
	defer beat.Stop()
	for {
		var msg string
		select {
		case <-r.Context().Done():
			return
		case <-changed:
			msg = "event: change\ndata: {}\n\n"
		case <-beat.C:
			msg = ": keep-alive\n\n"
		}
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprint(w, msg); err != nil {
			return
		}
		fl.Flush()
	}
}

func (c *Console) settle(w http.ResponseWriter, r *http.Request, s *session) {
	id, verb := r.PathValue("id"), r.PathValue("verb")
	_, err := c.opts.Broker.Settle(r.Context(), id, verb, "console", r.PostForm.Get("remember"), strings.TrimSpace(r.PostForm.Get("reason")))
	switch {
	case errors.Is(err, state.ErrNoApproval):
		c.fail(w, r, s, http.StatusNotFound, "approvals", fmt.Sprintf("approval %s is no longer pending (decided, or expired)", id), nil)
	case err != nil:
		c.fail(w, r, s, approval.SettleStatus(err), "approvals", err.Error(), nil)
	default:
		verb = map[string]string{"approve": "approved", "deny": "denied"}[verb]
		http.Redirect(w, r, "/approvals?done="+url.QueryEscape(verb+" "+id), http.StatusSeeOther)
	}
}

const callsPerPage = 50

// timeInput is the browser's datetime-local format, read as UTC.
const timeInput = "2006-01-02T15:04"

func (c *Console) calls(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	f := audit.Filter{Server: q.Get("server"), Tool: q.Get("tool"), Client: q.Get("client"), Decision: q.Get("decision"),
		Status: q.Get("status"), Last: callsPerPage}
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 0)
	f.Offset = page * callsPerPage
	data := map[string]any{"Q": q, "Servers": c.opts.Config.Labels()}
	for _, t := range []struct {
		key string
		dst *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(t.key); v != "" {
			tm, err := time.Parse(timeInput, v)
			if err != nil {
				c.fail(w, r, s, http.StatusBadRequest, "calls", fmt.Sprintf("%s: %q is not a time like 2026-12-01T09:30 (UTC)", t.key, v), data)
				return
			}
			*t.dst = tm
		}
	}
	list, err := c.opts.Audit.Calls(r.Context(), f)
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "calls", err.Error(), data)
		return
	}
	for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 { // newest first
		list[i], list[j] = list[j], list[i]
	}
	data["Calls"] = list
	data["Query"] = sqliteQuery(c.opts.Config.Audit.Path, f)
	pageLink := func(n int) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("page", strconv.Itoa(n))
		return v.Encode()
	}
	if page > 0 {
		data["Prev"] = pageLink(page - 1)
	}
	if len(list) == callsPerPage {
		data["Next"] = pageLink(page + 1)
	}
	c.render(w, r, http.StatusOK, "calls", s, data)
}

// sqliteQuery is the sqlite3 command that shows the same page of calls.
func sqliteQuery(path string, f audit.Filter) string {
	var conds []string
	for _, c := range []struct{ col, v string }{{"server", f.Server}, {"tool", f.Tool}, {"client", f.Client},
		{"decision", f.Decision}, {"status", f.Status}} {
		if c.v != "" {
			conds = append(conds, c.col+" = "+sqlString(c.v))
		}
	}
	if !f.Since.IsZero() {
		conds = append(conds, "started_at >= "+sqlString(f.Since.UTC().Format(time.RFC3339Nano)))
	}
	if !f.Until.IsZero() {
		conds = append(conds, "started_at < "+sqlString(f.Until.UTC().Format(time.RFC3339Nano)))
	}
	q := "SELECT * FROM calls"
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY started_at DESC, call_id DESC LIMIT %d OFFSET %d;", f.Last, f.Offset)
	return "sqlite3 -readonly -box " + shellQuote(path) + " " + shellQuote(q)
}

func sqlString(s string) string  { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func (c *Console) call(w http.ResponseWriter, r *http.Request, s *session) {
	call, events, err := c.opts.Audit.Call(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, audit.ErrNoCall):
		c.fail(w, r, s, http.StatusNotFound, "call", err.Error(), nil)
		return
	case err != nil:
		c.fail(w, r, s, http.StatusInternalServerError, "call", err.Error(), nil)
		return
	}
	c.render(w, r, http.StatusOK, "call", s, map[string]any{"Call": call, "Events": events,
		"Query": "sqlite3 -readonly -line " + shellQuote(c.opts.Config.Audit.Path) + " " +
			shellQuote("SELECT * FROM calls WHERE call_id = "+sqlString(call.CallID)+";")})
}

// toolRow is one tool on the tools page: how it is served and its pin.
type toolRow struct {
	proxy.ToolView
	Pin string // trusted, changed, new, off, or unknown
}

func (c *Console) tools(w http.ResponseWriter, r *http.Request, s *session) {
	views, errs := c.opts.Proxy.ToolViews(r.Context())
	pins, err := c.opts.State.Pins(r.Context(), "")
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "tools", err.Error(), nil)
		return
	}
	byKey := map[string]state.Pin{}
	for _, p := range pins {
		byKey[p.Server+"\x00"+p.Tool] = p
	}
	rows := make([]toolRow, len(views))
	for i, v := range views {
		pin := "off"
		if c.opts.Config.Servers[v.Server].Tools.Pin != config.PinOff {
			pin = byKey[v.Server+"\x00"+v.Tool].Standing()
		}
		rows[i] = toolRow{ToolView: v, Pin: pin}
	}
	c.render(w, r, http.StatusOK, "tools", s, map[string]any{"Tools": rows, "Errors": errs, "Notice": r.URL.Query().Get("done")})
}

func (c *Console) tool(w http.ResponseWriter, r *http.Request, s *session) {
	server, name := r.PathValue("server"), r.PathValue("tool")
	p, ok, err := c.opts.State.Pin(r.Context(), server, name)
	switch {
	case err != nil:
		c.fail(w, r, s, http.StatusInternalServerError, "tool", err.Error(), nil)
	case ok:
		c.render(w, r, http.StatusOK, "tool", s, map[string]any{"Pin": p, "Changed": p.PinnedHash != p.SeenHash,
			"Diff": diffLines(textdiff.JSON(p.PinnedDef, p.SeenDef)), "Seen": pretty(p.SeenDef)})
	default:
		c.fail(w, r, s, http.StatusNotFound, "tool", fmt.Sprintf("no tool %q seen on server %q", name, server), nil)
	}
}

// diffLine is one line of a diff, with its kind for styling.
type diffLine struct{ Kind, Text string }

func diffLines(d string) []diffLine {
	var out []diffLine
	for _, l := range strings.Split(strings.TrimSuffix(d, "\n"), "\n") {
		k := "same"
		switch {
		case strings.HasPrefix(l, "+ "):
			k = "add"
		case strings.HasPrefix(l, "- "):
			k = "del"
		}
		out = append(out, diffLine{k, l})
	}
	return out
}

func (c *Console) accept(w http.ResponseWriter, r *http.Request, s *session) {
	server, name, hash := r.PathValue("server"), r.PathValue("tool"), r.PostForm.Get("hash")
	if err := c.opts.State.AcceptReviewed(r.Context(), server, name, hash); err != nil {
		c.fail(w, r, s, http.StatusConflict, "tool", err.Error(), nil)
		return
	}
	c.opts.Logger.Info("tool accepted from the console", "server", server, "tool", name, "hash", hash)
	http.Redirect(w, r, "/tools?done="+url.QueryEscape("accepted "+server+"/"+name), http.StatusSeeOther)
}

// policyData is what the policy page shows before any evaluation.
func (c *Console) policyData(ctx context.Context) map[string]any {
	gen, loaded, lastErr := c.opts.Policy.Status()
	var report bytes.Buffer
	sum, err := c.opts.Policy.Tests(ctx, &report)
	data := map[string]any{"Source": c.opts.Policy.Source(), "Files": c.opts.Policy.Files(), "Generation": gen,
		"Loaded": loaded, "ReloadError": lastErr, "Tests": sum, "TestReport": report.String(), "TestError": err,
		"Servers": c.opts.Config.Labels(), "Mode": c.opts.Config.Policy.Mode,
		"Form": map[string]string{"args": "{}", "client": "console", "explain": "full"}}
	return data
}

func (c *Console) policy(w http.ResponseWriter, r *http.Request, s *session) {
	c.render(w, r, http.StatusOK, "policy", s, c.policyData(r.Context()))
}

func (c *Console) policyEval(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	data := c.policyData(ctx)
	form := map[string]string{}
	for _, k := range []string{"server", "tool", "client", "args", "explain"} {
		form[k] = r.PostForm.Get(k)
	}
	data["Form"] = form
	args := json.RawMessage(strings.TrimSpace(form["args"]))
	var obj map[string]any
	if err := json.Unmarshal(args, &obj); err != nil {
		c.fail(w, r, s, http.StatusBadRequest, "policy", "arguments must be a JSON object: "+err.Error(), data)
		return
	}
	in, err := c.opts.Proxy.EvalInput(ctx, form["server"], form["tool"], form["client"], args)
	if err != nil {
		c.fail(w, r, s, http.StatusBadRequest, "policy", err.Error(), data)
		return
	}
	d, perr, trace, prints := c.opts.Policy.Explain(ctx, in)
	result := map[string]any{"action": d.Action, "reason": d.Reason}
	if perr != nil {
		result["policy_error"] = strings.TrimPrefix(perr.Error(), policy.ErrPolicy.Error()+"\n")
	}
	doc, _ := in.Document()
	data["Result"] = pretty(result)
	data["Input"] = pretty(doc)
	data["Prints"] = prints
	if mode := form["explain"]; mode != "" && mode != "none" {
		filtered, err := policy.FilterTrace(trace, mode)
		if err != nil {
			c.fail(w, r, s, http.StatusBadRequest, "policy", err.Error(), data)
			return
		}
		data["Trace"] = policy.PrettyTrace(filtered)
	}
	c.render(w, r, http.StatusOK, "policy", s, data)
}

func (c *Console) tokensData(ctx context.Context) (map[string]any, error) {
	list, err := c.opts.State.ListTokens(ctx)
	return map[string]any{"Tokens": list, "Servers": c.opts.Config.Labels()}, err
}

func (c *Console) tokens(w http.ResponseWriter, r *http.Request, s *session) {
	data, err := c.tokensData(r.Context())
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "tokens", err.Error(), data)
		return
	}
	data["Notice"] = r.URL.Query().Get("done")
	c.render(w, r, http.StatusOK, "tokens", s, data)
}

func (c *Console) createToken(w http.ResponseWriter, r *http.Request, s *session) {
	name := strings.TrimSpace(r.PostForm.Get("name"))
	servers := r.PostForm["servers"]
	var ttl time.Duration
	var err error
	if v := strings.TrimSpace(r.PostForm.Get("expires")); v != "" {
		if ttl, err = duration.Parse(v); err != nil || ttl <= 0 {
			data, _ := c.tokensData(r.Context())
			c.fail(w, r, s, http.StatusBadRequest, "tokens", "expires: give a duration like 30d or 12h", data)
			return
		}
	}
	for _, sv := range servers {
		if _, ok := c.opts.Config.Servers[sv]; !ok {
			data, _ := c.tokensData(r.Context())
			c.fail(w, r, s, http.StatusBadRequest, "tokens", fmt.Sprintf("no server %q", sv), data)
			return
		}
	}
	tok, err := c.opts.State.CreateToken(r.Context(), name, servers, ttl)
	data, _ := c.tokensData(r.Context())
	if err != nil {
		c.fail(w, r, s, http.StatusBadRequest, "tokens", err.Error(), data)
		return
	}
	c.opts.Logger.Info("client token created from the console", "name", name)
	data["NewToken"], data["NewName"] = tok, name
	c.render(w, r, http.StatusOK, "tokens", s, data)
}

func (c *Console) revokeToken(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	if err := c.opts.State.RevokeToken(r.Context(), name); err != nil {
		data, _ := c.tokensData(r.Context())
		c.fail(w, r, s, http.StatusNotFound, "tokens", err.Error(), data)
		return
	}
	c.opts.Logger.Info("client token revoked from the console", "name", name)
	http.Redirect(w, r, "/tokens?done="+url.QueryEscape("revoked "+name), http.StatusSeeOther)
}

func (c *Console) upstreams(w http.ResponseWriter, r *http.Request, s *session) {
	c.render(w, r, http.StatusOK, "upstreams", s, map[string]any{"Upstreams": c.opts.Proxy.Upstreams()})
}
