package approval

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
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
		var a state.Approval
		var err error
		switch r.PathValue("verb") {
		case "approve":
			var remember time.Duration
			if in.Remember != "" {
				if remember, err = duration.Parse(in.Remember); err != nil {
					reply(w, http.StatusBadRequest, map[string]string{"error": "remember: " + err.Error()})
					return
				}
			}
			a, err = b.Approve(r.Context(), r.PathValue("id"), by, remember)
		case "deny":
			a, err = b.Deny(r.Context(), r.PathValue("id"), by, in.Reason)
		default:
			reply(w, http.StatusNotFound, map[string]string{"error": "use approve or deny"})
			return
		}
		switch {
		case errors.Is(err, state.ErrNoApproval):
			reply(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		case err != nil:
			reply(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		default:
			reply(w, http.StatusOK, a)
		}
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

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
