package approval

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/drawbridge-mcp/drawbridge/internal/duration"
	"github.com/drawbridge-mcp/drawbridge/state"
)

// Handler is the approvals part of the admin API, for the loopback admin
// listener: GET /api/approvals, POST /api/approvals/{id}/approve
// ({"remember": "1h", "by": "name"}), POST /api/approvals/{id}/deny
// ({"reason": "…", "by": "name"}). Every request carries the admin token
// as a Bearer token.
func Handler(b *Broker, adminToken string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/approvals", func(w http.ResponseWriter, r *http.Request) {
		list, err := b.Pending(r.Context())
		if err != nil {
			reply(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		if list == nil {
			list = []state.Approval{}
		}
		reply(w, http.StatusOK, list)
	})
	mux.HandleFunc("POST /api/approvals/{id}/{verb}", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Remember string `json:"remember"`
			Reason   string `json:"reason"`
			By       string `json:"by"`
		}
		if r.ContentLength != 0 {
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&in); err != nil {
				reply(w, http.StatusBadRequest, map[string]string{"error": "body must be JSON: " + err.Error()})
				return
			}
		}
		by := "admin-api"
		if in.By != "" {
			by = in.By
		}
		a, err := b.Settle(r.Context(), r.PathValue("id"), r.PathValue("verb"), by, in.Remember, in.Reason)
		reply(w, SettleStatus(err), answer(a, err))
	})
	return RequireToken(adminToken, mux)
}

// RequireToken lets through only requests that carry the admin token as a
// Bearer token (the admin API, /metrics).
func RequireToken(adminToken string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(tok), []byte(adminToken)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="drawbridge-admin"`)
			reply(w, http.StatusUnauthorized, map[string]string{"error": "admin token required (data_dir/admin.token)"})
			return
		}
		h.ServeHTTP(w, r)
	})
}

func answer(a state.Approval, err error) any {
	if err != nil {
		return map[string]string{"error": err.Error()}
	}
	return a
}

// Errors of Settle that are the request's fault.
var (
	ErrVerb     = errors.New("use approve or deny")
	ErrRemember = errors.New("remember")
)

// Settle approves or denies (verb) the pending approval id as by: remember
// (a duration such as "1h"; "" for the grant TTL) for an approval, reason
// for a denial. Its errors are ErrVerb, ErrRemember, state.ErrNoApproval
// or the store's.
func (b *Broker) Settle(ctx context.Context, id, verb, by, remember, reason string) (state.Approval, error) {
	switch verb {
	case "approve":
		var d time.Duration
		if remember != "" {
			var err error
			if d, err = duration.Parse(remember); err != nil {
				return state.Approval{}, fmt.Errorf("%w: %v", ErrRemember, err)
			}
		}
		return b.Approve(ctx, id, by, d)
	case "deny":
		return b.Deny(ctx, id, by, reason)
	}
	return state.Approval{}, ErrVerb
}

// SettleStatus is the HTTP status of Settle's outcome.
func SettleStatus(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrRemember):
		return http.StatusBadRequest
	case errors.Is(err, ErrVerb), errors.Is(err, state.ErrNoApproval):
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
