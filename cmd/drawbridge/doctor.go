package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/drawbridge-mcp/drawbridge/config"
	"github.com/drawbridge-mcp/drawbridge/internal/wire"
	"github.com/drawbridge-mcp/drawbridge/policy"
	"github.com/drawbridge-mcp/drawbridge/proxy"
)

// openAICallLimit is about how long OpenAI's cloud waits for one MCP call.
const openAICallLimit = 60 * time.Second

// finding is one line of doctor's report.
type finding struct {
	Check  string `json:"check"`
	Status string `json:"status"` // ok | warn | fail
	Detail string `json:"detail"`
	// OpenAI is what the Responses API would show because of it.
	OpenAI string `json:"openai,omitempty"`
	Fix    string `json:"fix,omitempty"`
}

// runDoctor checks, one line each, everything the Responses API needs to
// reach Drawbridge and list and call its tools; exit 1 on any fail.
func runDoctor(ctx context.Context, e env, args []string) error {
	f := newFlags("doctor", e)
	asJSON := f.Bool("json", false, "print the findings as JSON")
	base := f.String("url", "", "check this public base `URL` instead of the one the config gives (a tunnel's)")
	if _, err := f.parse(args); err != nil {
		return err
	}
	var out []finding
	add := func(fd finding) { out = append(out, fd) }
	cfg, err := f.load()
	if err != nil {
		add(finding{Check: "config", Status: "fail", Detail: oneLine(err.Error()), Fix: "drawbridge check -c " + *f.config + " lists every problem"})
		return report(e, out, *asJSON)
	}
	add(finding{Check: "config", Status: "ok", Detail: fmt.Sprintf("%s: %d servers", cfg.Path, len(cfg.Servers))})
	log := slog.New(slog.DiscardHandler)
	doctorPolicy(ctx, cfg, log, add)
	vault, closeVault, err := readVault(ctx, cfg, log)
	if err != nil {
		add(finding{Check: "secrets", Status: "fail", Detail: oneLine(err.Error()), OpenAI: "every call fails",
			Fix: "set " + "DRAWBRIDGE_MASTER_KEY or restore data_dir/master.key"})
	} else {
		defer closeVault()
		doctorSecrets(ctx, cfg, add)
		for _, label := range cfg.Labels() {
			add(doctorUpstream(ctx, cfg, label, vault, log))
		}
	}
	doctorTimeouts(cfg, add)
	if *base == "" {
		*base, _ = publicBase(cfg)
		if !cfg.Public.Enabled() || cfg.Public.Tunnel != "" {
			*base = ""
		}
	}
	if *base != "" {
		doctorPublic(ctx, *base, add)
	} else if cfg.Public.Tunnel == config.TunnelOpenAI {
		add(finding{Check: "public", Status: "ok", Detail: "OpenAI Secure MCP Tunnel " + cfg.Public.TunnelID + ": no public URL to check; the admin listener's /readyz shows the tunnel's state"})
	} else {
		add(finding{Check: "public", Status: "warn", Detail: "nothing is exposed: the Responses API cannot reach " + cfg.Listen,
			OpenAI: `424 "Error retrieving tool list from MCP server"`, Fix: "set public.domain, or public.tunnel (see Going public); for a tunnel you run yourself pass --url"})
	}
	return report(e, out, *asJSON)
}

func report(e env, out []finding, asJSON bool) error {
	failed := false
	for _, fd := range out {
		failed = failed || fd.Status == "fail"
	}
	if asJSON {
		if err := printJSON(e.stdout, out); err != nil {
			return err
		}
	} else {
		t := newTable(e.stdout, "STATUS", "CHECK", "DETAIL")
		for _, fd := range out {
			detail := fd.Detail
			if fd.OpenAI != "" {
				detail += " — OpenAI would show: " + fd.OpenAI
			}
			if fd.Fix != "" {
				detail += " — fix: " + fd.Fix
			}
			t.row(fd.Status, fd.Check, detail)
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if failed {
		return exitError{1}
	}
	return nil
}

func doctorPolicy(ctx context.Context, cfg *config.Config, log *slog.Logger, add func(finding)) {
	if _, err := wire.Policy(ctx, cfg, log); err != nil {
		add(finding{Check: "policy", Status: "fail", Detail: oneLine(err.Error()), OpenAI: "serve refuses to start",
			Fix: "drawbridge policy test " + cfg.Policy.Dir})
		return
	}
	var buf bytes.Buffer
	if code := policy.Test(ctx, cfg.Policy.Dir, "", false, &buf, cfg.Policy.Data); code != 0 {
		add(finding{Check: "policy", Status: "fail", Detail: "its tests fail: " + oneLine(buf.String()), OpenAI: "serve refuses to start",
			Fix: "drawbridge policy test -v " + cfg.Policy.Dir})
		return
	}
	add(finding{Check: "policy", Status: "ok", Detail: "compiles; " + oneLine(buf.String())})
}

func doctorSecrets(ctx context.Context, cfg *config.Config, add func(finding)) {
	store, vault, err := openVault(ctx, cfg, nil, false)
	if store != nil {
		defer store.Close()
	}
	if err == nil {
		err = missingSecrets(cfg, vault)
	}
	if err != nil {
		add(finding{Check: "secrets", Status: "fail", Detail: oneLine(err.Error()), OpenAI: "serve refuses to start",
			Fix: "drawbridge secret set NAME" + configFlag(cfg)})
		return
	}
	add(finding{Check: "secrets", Status: "ok", Detail: fmt.Sprintf("%d references, all stored", len(cfg.SecretRefs()))})
}

func doctorUpstream(ctx context.Context, cfg *config.Config, label string, vault proxy.Vault, log *slog.Logger) finding {
	sc := cfg.Servers[label]
	tctx, cancel := context.WithTimeout(ctx, sc.Timeout.D())
	defer cancel()
	start := time.Now()
	tools, err := proxy.FetchTools(tctx, sc, log, vault)
	took := time.Since(start).Round(time.Millisecond)
	check := "upstream " + label
	if err != nil {
		return finding{Check: check, Status: "fail", Detail: oneLine(err.Error()),
			OpenAI: `424 "Error retrieving tool list from MCP server"`, Fix: "check servers." + label + " (url or command, credentials)"}
	}
	fd := finding{Check: check, Status: "ok", Detail: fmt.Sprintf("tools/list in %s: %d tools served", took, len(tools))}
	if len(tools) == 0 {
		fd.Status, fd.Detail = "warn", fd.Detail+" (config filtering hides them all)"
	}
	if took > openAICallLimit/2 {
		fd.Status, fd.OpenAI = "warn", "slow tool lists may time out"
	}
	return fd
}

func doctorTimeouts(cfg *config.Config, add func(finding)) {
	if d := cfg.Approval.Timeout.D(); d >= openAICallLimit {
		add(finding{Check: "approval.timeout", Status: "warn", Detail: fmt.Sprintf("%s: OpenAI gives up on a call after about %s", d, openAICallLimit),
			OpenAI: "the call fails instead of reading \"pending, ask the operator, retry\"", Fix: "approval.timeout: 45s"})
	} else {
		add(finding{Check: "approval.timeout", Status: "ok", Detail: fmt.Sprintf("%s, inside OpenAI's ~%s", d, openAICallLimit)})
	}
	for _, label := range cfg.Labels() {
		if d := cfg.Servers[label].Timeout.D(); d > openAICallLimit {
			add(finding{Check: "servers." + label + ".timeout", Status: "warn", Detail: fmt.Sprintf("%s is longer than OpenAI waits", d),
				OpenAI: "a slow call fails at OpenAI before Drawbridge answers", Fix: "timeout: 50s"})
		}
	}
}

// doctorPublic checks the public URL from this machine: /healthz through
// it, its certificate, the clock, and whether event streams arrive in
// pieces.
func doctorPublic(ctx context.Context, base string, add func(finding)) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		add(finding{Check: "public", Status: "fail", Detail: fmt.Sprintf("%q is not a URL", base)})
		return
	}
	client := &http.Client{Timeout: 15 * time.Second}
	resp, err := client.Get(strings.TrimRight(base, "/") + "/healthz")
	if err != nil {
		add(finding{Check: "public", Status: "fail", Detail: oneLine(err.Error()), OpenAI: `424 "Error retrieving tool list from MCP server"`,
			Fix: "is serve running, and does DNS (or the tunnel) point at it?"})
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		add(finding{Check: "public", Status: "fail", Detail: base + "/healthz answered " + resp.Status, OpenAI: "424",
			Fix: "the name reaches something other than Drawbridge"})
		return
	}
	add(finding{Check: "public", Status: "ok", Detail: base + "/healthz answers 200"})
	if date, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		if skew := time.Since(date); skew > 5*time.Minute || skew < -5*time.Minute {
			add(finding{Check: "clock", Status: "warn", Detail: fmt.Sprintf("off by %s from %s", skew.Round(time.Second), u.Host),
				OpenAI: "certificates and token expiry misjudged", Fix: "enable NTP"})
		} else {
			add(finding{Check: "clock", Status: "ok", Detail: "within 5 minutes of " + u.Host})
		}
	}
	if u.Scheme == "https" {
		add(doctorCert(u))
	} else {
		add(finding{Check: "certificate", Status: "fail", Detail: base + " is plain http", OpenAI: "424: the Responses API calls https URLs",
			Fix: "put HTTPS in front (public.domain) or use a tunnel"})
	}
	add(doctorStream(ctx, client, base))
}

func doctorCert(u *url.URL) finding {
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", host, &tls.Config{ServerName: u.Hostname()})
	if err != nil {
		return finding{Check: "certificate", Status: "fail", Detail: oneLine(err.Error()), OpenAI: "424 (certificate not trusted)",
			Fix: "a certificate from a public CA for " + u.Hostname() + " (public.domain obtains one)"}
	}
	defer conn.Close()
	leaf := conn.ConnectionState().PeerCertificates[0]
	left := time.Until(leaf.NotAfter)
	if left < 14*24*time.Hour {
		return finding{Check: "certificate", Status: "fail", Detail: fmt.Sprintf("valid for %s, expires %s", u.Hostname(), leaf.NotAfter.Format(time.RFC3339)),
			OpenAI: "424 once it expires", Fix: "renew it (with public.domain renewal is automatic; check serve's log and the admin listener's /readyz)"}
	}
	return finding{Check: "certificate", Status: "ok", Detail: fmt.Sprintf("valid for %s until %s", u.Hostname(), leaf.NotAfter.Format("2006-01-02"))}
}

// doctorStream asks /healthz for its three-event stream and times the
// events: arriving together means something in front buffers streams.
func doctorStream(ctx context.Context, client *http.Client, base string) finding {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/healthz?stream=1", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := client.Do(req)
	if err != nil {
		return finding{Check: "event streams", Status: "fail", Detail: oneLine(err.Error())}
	}
	defer resp.Body.Close()
	var at []time.Duration
	start := time.Now()
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 1<<16))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "data:") {
			at = append(at, time.Since(start))
		}
	}
	switch {
	case len(at) < 3:
		return finding{Check: "event streams", Status: "fail", Detail: fmt.Sprintf("%d of 3 events arrived", len(at)), OpenAI: "424 or calls that hang",
			Fix: "the tunnel or proxy in front cuts event streams"}
	case at[2]-at[0] < 250*time.Millisecond:
		return finding{Check: "event streams", Status: "fail", Detail: fmt.Sprintf("3 events sent 250ms apart arrived within %s: buffered", (at[2] - at[0]).Round(time.Millisecond)),
			OpenAI: `424 "Error retrieving tool list from MCP server", or approvals that time out`,
			Fix:    "turn off response buffering in the tunnel or proxy in front (nginx: proxy_buffering off)"}
	}
	return finding{Check: "event streams", Status: "ok", Detail: fmt.Sprintf("arrive as sent (%s apart)", (at[2] - at[0]).Round(time.Millisecond))}
}
