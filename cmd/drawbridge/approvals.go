package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/drawbridge-mcp/drawbridge/approval"
	"github.com/drawbridge-mcp/drawbridge/audit"
	"github.com/drawbridge-mcp/drawbridge/config"
	"github.com/drawbridge-mcp/drawbridge/state"
)

const approvalsUsage = "approvals [list] | approvals approve ID [--remember DUR] | approvals deny ID [--reason TEXT]"

// runApprovals lists and settles held calls through the running proxy's
// admin listener.
func runApprovals(ctx context.Context, e env, args []string) error {
	f := newFlags("approvals", e)
	asJSON := f.Bool("json", false, "list: print the pending approvals as JSON")
	remember := f.String("remember", "", "approve: grant the same call for this long (e.g. 1h, 7d)")
	reason := f.String("reason", "", "deny: the reason the model is given")
	admin := f.String("admin", "", "the admin listener's `address` (default: the config's admin.listen)")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	cfg, err := f.load()
	if err != nil {
		return err
	}
	token, err := os.ReadFile(filepath.Join(cfg.DataDir, adminTokenFile))
	if err != nil {
		return fmt.Errorf("read the admin token (is drawbridge serve running with this config?): %w", err)
	}
	addr := cfg.Admin.Listen
	if *admin != "" {
		addr = *admin
	}
	api := adminClient{base: "http://" + addr, token: strings.TrimSpace(string(token))}
	switch {
	case len(pos) == 0 || (pos[0] == "list" && len(pos) == 1):
		var list []state.Approval
		if err := api.do(ctx, "GET", "/api/approvals", nil, &list); err != nil {
			return err
		}
		if *asJSON {
			if list == nil {
				list = []state.Approval{}
			}
			return printJSON(e.stdout, list)
		}
		t := newTable(e.stdout, "ID", "CREATED", "CLIENT", "SERVER", "TOOL", "ARGUMENTS", "REASON")
		for _, a := range list {
			t.row(a.ID, a.CreatedAt.Format(time.RFC3339), a.Client, a.Server, a.Tool, oneLine(a.Arguments), oneLine(a.Reason))
		}
		return t.flush()
	case pos[0] == "approve" && len(pos) == 2:
		var a state.Approval
		if err := api.do(ctx, "POST", "/api/approvals/"+pos[1]+"/approve", map[string]string{"remember": *remember, "by": cliUser()}, &a); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "approved %s (%s/%s for %s)\n", esc(a.ID), esc(a.Server), esc(a.Tool), esc(a.Client))
		return nil
	case pos[0] == "deny" && len(pos) == 2:
		var a state.Approval
		if err := api.do(ctx, "POST", "/api/approvals/"+pos[1]+"/deny", map[string]string{"reason": *reason, "by": cliUser()}, &a); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "denied %s\n", esc(a.ID))
		return nil
	}
	return fmt.Errorf("%w: %s", errUsage, approvalsUsage)
}

// cliUser is who approved from the command line.
func cliUser() string {
	if u, err := user.Current(); err == nil {
		return "cli:" + u.Username
	}
	return "cli"
}

type adminClient struct{ base, token string }

func (c adminClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("reach the admin listener at %s (is drawbridge serve running?): %w", c.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, e.Error)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// adminTokenFile holds the admin API's token, 0600, in data_dir.
const adminTokenFile = "admin.token"

// adminToken reads the admin token, creating it on first use.
func adminToken(dataDir string) (string, error) {
	path := filepath.Join(dataDir, adminTokenFile)
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("admin token: %w", err)
	}
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	tok := "dba_" + base64.RawURLEncoding.EncodeToString(raw[:])
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	return tok, nil
}

// newBroker makes the approvals broker; its events go to the ledger.
func newBroker(cfg *config.Config, db *state.DB, ledger *audit.Log, log *slog.Logger) *approval.Broker {
	return approval.New(approval.Options{DB: db, Timeout: cfg.Approval.Timeout.D(), GrantTTL: cfg.Approval.GrantTTL.D(),
		Webhook: cfg.Approval.WebhookURL, Logger: log, OnEvent: func(event string, a state.Approval) {
			ev := &audit.Event{Kind: audit.KindApproval, Method: "approval/" + event, ApprovalID: a.ID, Client: a.Client,
				Server: a.Server, Tool: a.Tool, Reason: a.Reason, Error: a.Note}
			if event == "approved" || event == "granted" {
				ev.ApprovedBy = a.DecidedBy
			}
			if a.Arguments != "" {
				ev.Arguments = json.RawMessage(a.Arguments)
			}
			ledger.Enqueue(ev)
		}})
}
