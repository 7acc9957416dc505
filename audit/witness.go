package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"
)

// Head is the chain's last event: record it outside audit.db (a witness)
// and a later `audit verify --head HASH` proves no event up to it was
// deleted from the end or rewritten.
type Head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
	At   string `json:"at,omitempty"`
}

// Head returns the chain's head as of the last commit.
func (l *Log) Head() Head { return *l.witnessed.Load() }

// Witness is where the head is written periodically.
type Witness struct {
	// File gets one JSON line per new head (appended, fsynced).
	File string
	// URL gets each new head as a JSON POST.
	URL      string
	Interval time.Duration
	Client   *http.Client
}

// Witness writes the head to w's file and URL every interval while it
// changes, until ctx ends; failures are logged and retried next time.
func (l *Log) Witness(ctx context.Context, w Witness) {
	if w.Client == nil {
		w.Client = &http.Client{Timeout: 10 * time.Second}
	}
	tick := time.NewTicker(w.Interval)
	defer tick.Stop()
	last := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		h := l.Head()
		if h.Hash == last || h.Seq == 0 {
			continue
		}
		h.At = time.Now().UTC().Format(time.RFC3339Nano)
		line, _ := json.Marshal(h)
		ok := true
		if w.File != "" {
			if err := appendLine(w.File, line); err != nil {
				l.log.Error("audit witness file", "err", err)
				ok = false
			}
		}
		if w.URL != "" {
			if err := post(ctx, w.Client, w.URL, line); err != nil {
				l.log.Error("audit witness webhook", "err", err)
				ok = false
			}
		}
		if ok {
			last = h.Hash
		}
	}
}

func appendLine(path string, line []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(line, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func post(ctx context.Context, c *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("POST %s: %s", url, resp.Status)
	}
	return nil
}
