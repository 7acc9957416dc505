package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drawbridge-mcp/drawbridge/config"
	"github.com/drawbridge-mcp/drawbridge/internal/ijson"
	"github.com/drawbridge-mcp/drawbridge/policy"
)

// maxToolPages bounds tools/list pagination against an upstream that never
// stops handing out cursors.
const maxToolPages = 100

// Tool is one upstream tool. Raw is its definition exactly as the upstream
// sent it, forwarded byte-for-byte (typed decoding would drop keys such as
// anyOf and $schema); the other fields are read from it, by their exact
// keys (readTool), for filtering and policy.
type Tool struct {
	Name        string
	Description string
	InputSchema json.RawMessage
	Annotations json.RawMessage
	Raw         json.RawMessage
	// Served is the definition clients get (annotations as the config
	// says); Hash and Def are the pinned form of Raw, Legacy the hash an
	// earlier version pinned it by.
	Served json.RawMessage
	Hash   string
	Def    string
	Legacy string
	// Ambiguous says why clients could read the definition two ways ("" when
	// they read it alike): such a tool is quarantined whatever its pin says
	// (definition.go).
	Ambiguous string
	// schema is InputSchema read strictly, once, for the arguments check
	// (nil when it does not read strictly).
	schema *ijson.Value
}

// catalog is an upstream's tool list at one moment.
type catalog struct {
	tools   []Tool
	byName  map[string]int
	fetched time.Time
}

func (c *catalog) lookup(name string) (Tool, bool) {
	i, ok := c.byName[name]
	if !ok {
		return Tool{}, false
	}
	return c.tools[i], true
}

func (c *catalog) names() []string {
	out := make([]string, len(c.tools))
	for i, t := range c.tools {
		out[i] = t.Name
	}
	sort.Strings(out)
	return out
}

// catalogCache holds an upstream's tool list: served from memory for its
// TTL, fetched again when stale or invalidated
// (notifications/tools/list_changed), one fetch at a time for every caller.
// When a fetch fails and there is a list, the last good list keeps being
// served and the failure is logged.
type catalogCache struct {
	ttl   time.Duration
	log   *slog.Logger
	wrap  func(error) error // names the upstream in a context error
	fetch func(context.Context) (*catalog, error)

	mu       sync.Mutex
	cur      *catalog
	fetching flight[*catalog]
	// lastMiss is when a call for an unknown tool last refetched the list
	// (unix nanoseconds).
	lastMiss atomic.Int64
}

func (c *catalogCache) get(ctx context.Context) (*catalog, error) {
	c.mu.Lock()
	cur := c.cur
	c.mu.Unlock()
	if cur != nil && time.Since(cur.fetched) < c.ttl {
		return cur, nil
	}
	next, err := c.fetching.do(ctx, func() (*catalog, error) {
		c.mu.Lock()
		if now := c.cur; now != cur && now != nil && time.Since(now.fetched) < c.ttl {
			c.mu.Unlock()
			return now, nil // a fetch ended since the look above
		}
		c.mu.Unlock()
		next, err := c.fetch(ctx)
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err() // this caller's, not shared (see flight)
			}
			return nil, err
		}
		c.mu.Lock()
		c.cur = next
		c.mu.Unlock()
		return next, nil
	})
	if err != nil {
		if cur != nil {
			c.log.Warn("tool list refresh failed; serving the last good list", "err", err)
			return cur, nil
		}
		if isContextErr(err) {
			err = c.wrap(err)
		}
		return nil, err
	}
	return next, nil
}

// invalidate makes the next get fetch.
func (c *catalogCache) invalidate() {
	c.mu.Lock()
	if c.cur != nil {
		stale := *c.cur
		stale.fetched = time.Time{}
		c.cur = &stale
	}
	c.mu.Unlock()
}

// missRefetchAllowed reports whether a call for an unknown tool may
// refetch the list now, and if so counts it: at most once per missRefetch.
func (c *catalogCache) missRefetchAllowed() bool {
	now := time.Now().UnixNano()
	last := c.lastMiss.Load()
	return now-last >= int64(missRefetch) && c.lastMiss.CompareAndSwap(last, now)
}

// Tools returns the upstream's tools (see catalogCache).
func (u *Upstream) Tools(ctx context.Context) (*catalog, error) { return u.tools.get(ctx) }

func (u *Upstream) fetchTools(ctx context.Context) (*catalog, error) {
	c := &catalog{byName: make(map[string]int), fetched: time.Now()}
	var cursor string
	for page := 0; page < maxToolPages; page++ {
		params := map[string]any{}
		if cursor != "" {
			params["cursor"] = cursor
		}
		raw, err := u.Call(ctx, "tools/list", params)
		if err != nil {
			return nil, err
		}
		var res struct {
			Tools      []json.RawMessage `json:"tools"`
			NextCursor string            `json:"nextCursor"`
		}
		if err := json.Unmarshal(raw, &res); err != nil {
			return nil, fmt.Errorf("tools/list from %s: malformed result: %w", u.cfg.Label, err)
		}
		for _, r := range res.Tools {
			t, ok := readTool(r)
			if !ok {
				u.log.Warn("upstream tool without a valid definition skipped")
				continue
			}
			if _, dup := c.byName[t.Name]; dup {
				u.log.Warn("upstream lists a tool twice; keeping the first", "tool", t.Name)
				continue
			}
			t.Raw = r
			t.Served = served(r, t.Name, u.cfg)
			t.Hash, t.Def = definition(r)
			t.Legacy = legacyHash(r)
			t.Ambiguous = ambiguity(r) // reported by onFetch (Server.observe)
			t.schema, _ = ijson.Parse(t.InputSchema)
			c.byName[t.Name] = len(c.tools)
			c.tools = append(c.tools, t)
		}
		if res.NextCursor == "" {
			u.warnLookalikes(c)
			return c, nil
		}
		cursor = res.NextCursor
	}
	return nil, fmt.Errorf("tools/list from %s: more than %d pages", u.cfg.Label, maxToolPages)
}

// warnLookalikes logs tools of one upstream whose names differ only by case
// or by look-alike letters: a model (or a person reviewing a list) can
// take one for the other.
func (u *Upstream) warnLookalikes(c *catalog) {
	seen := map[string]string{}
	for _, t := range c.tools {
		sk := skeleton(t.Name)
		if other, ok := seen[sk]; ok {
			u.log.Warn("upstream tools differ only by case or look-alike letters", "tool", t.Name, "like", other)
			continue
		}
		seen[sk] = t.Name
	}
}

// FetchTools connects to an upstream once and returns its tools
// definitions as the policy sees them, with the config's filtering applied
// and without the definitions that read two ways (quarantined: logged), for
// the CLI (policy eval, responses-config, doctor).
func FetchTools(ctx context.Context, cfg *config.Server, log *slog.Logger, vault Vault) ([]policy.Tool, error) {
	if vault == nil {
		vault = noVault{}
	}
	u := newUpstream(cfg, log, nil, func(client string) config.Lookup { return vaultLookup(vault, client) })
	defer u.Close()
	cat, err := u.Tools(ctx)
	if err != nil {
		return nil, err
	}
	var out []policy.Tool
	for _, t := range cat.tools {
		if t.Ambiguous != "" {
			u.log.Warn("upstream tool left out: quarantined", "tool", t.Name, "why", t.Ambiguous)
			continue
		}
		if filtered(cfg.Tools, t.Name) == "" {
			out = append(out, policy.Tool{Name: t.Name, Description: t.Description, Annotations: t.Annotations, InputSchema: t.InputSchema})
		}
	}
	return out, nil
}

// FetchTool is FetchTools for one tool.
func FetchTool(ctx context.Context, cfg *config.Server, name string, log *slog.Logger, vault Vault) (policy.Tool, error) {
	tools, err := FetchTools(ctx, cfg, log, vault)
	if err != nil {
		return policy.Tool{}, err
	}
	for _, t := range tools {
		if t.Name == name {
			return t, nil
		}
	}
	return policy.Tool{}, fmt.Errorf("server %q has no tool %q (or config filtering hides it, or it is quarantined)", cfg.Label, name)
}
